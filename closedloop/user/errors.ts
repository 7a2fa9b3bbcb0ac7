/** Named failures of the simulated user; each carries a `code` the CLI prints and tests assert on. */
export type UserErrorCode =
  | 'EUSEROPTS' // a bad option or parameter
  | 'EUSERSOCKET' // a transport could not be opened
  | 'EUSAGE'; // bad command-line options

export class UserError extends Error {
  constructor(readonly code: UserErrorCode, message: string) {
    super(message);
    this.name = 'UserError';
  }
}
