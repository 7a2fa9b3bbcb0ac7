/** Named failures of the task; each carries a `code` the CLI prints and tests assert on. */
export type TaskErrorCode =
  | 'EUSAGE' // bad command-line options
  | 'ETASKOPTS'; // options that do not make a task (a target outside the workspace, …)

export class TaskError extends Error {
  constructor(readonly code: TaskErrorCode, message: string) {
    super(message);
    this.name = 'TaskError';
  }
}
