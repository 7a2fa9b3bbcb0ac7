/**
 * Named failures of calibration: each carries a `code` so the CLI prints one line and tests can
 * tell the problems apart without parsing messages.
 */
export type CalibrationErrorCode =
  | 'ENOSTREAM' // the recording lacks the named spike or behaviour stream
  | 'ENOCHANNEL' // no velocity channels matched
  | 'EALIGN' // spikes and behaviour do not overlap in time
  | 'ETOOSHORT' // too little data for the requested split / windows
  | 'EBADDATA' // non-finite or negative counts, an unusable stream
  | 'EBACKEND' // the requested TensorFlow.js backend cannot be loaded
  | 'EDIVERGED' // the loss became NaN before any good checkpoint existed
  | 'ERESUME' // a checkpoint cannot be resumed with these options
  | 'EUSAGE'; // bad command-line options

export class CalibrationError extends Error {
  constructor(readonly code: CalibrationErrorCode, message: string) {
    super(message);
    this.name = 'CalibrationError';
  }
}
