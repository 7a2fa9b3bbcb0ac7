/**
 * Named errors of model/: each carries a `code` so callers (the daemon, the CLI, tests) can
 * tell the problems apart without parsing messages.
 */

/** Codes of a refused model file; each names one problem. */
export type ModelFileErrorCode =
  | 'ETRUNCATED' // fewer bytes than the header or the tensor ranges need
  | 'EHEADER' // header length or header structure is wrong
  | 'EJSON' // header or config is not valid JSON
  | 'EDTYPE' // a tensor is not F32
  | 'ERANGE' // tensor byte ranges do not tile the data section
  | 'EFORMAT' // missing or unknown `format` metadata
  | 'EMISSING' // a tensor the config needs is absent
  | 'ESHAPE' // a tensor has the wrong shape
  | 'EUNEXPECTED' // a tensor the model does not use
  | 'EVALUE' // a weight is NaN or infinite
  | 'ENOTFOUND'; // the file cannot be read

export class ModelFileError extends Error {
  constructor(readonly code: ModelFileErrorCode, message: string) {
    super(message);
    this.name = 'ModelFileError';
  }
}

/** A bad counts vector (wrong length, non-finite, negative or non-integer); the filter state is unchanged. */
export class InputError extends Error {
  readonly code = 'EINPUT';
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** A snapshot that does not belong to this filter's model. */
export class SnapshotError extends Error {
  readonly code = 'ESNAPSHOT';
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotError';
  }
}

/** A decoder the model file does not hold (a model calibrated before baselines were stored, or made by `model init`). */
export class DecoderError extends Error {
  readonly code = 'ENOBASELINE';
  constructor(message: string) {
    super(message);
    this.name = 'DecoderError';
  }
}
