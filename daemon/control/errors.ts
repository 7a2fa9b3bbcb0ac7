/**
 * Errors of the control plane. Every refusal the HTTP API sends is one of these: an HTTP status,
 * a stable `code` a client can switch on, and a message naming the problem.
 */

export type ControlCode =
  | 'EBADJSON' // body is not JSON
  | 'EBADREQUEST' // JSON of the wrong shape
  | 'ETOOLARGE' // body over the limit
  | 'EUNSUPPORTED' // content type other than JSON
  | 'EUNAUTHORIZED' // no bearer token
  | 'EFORBIDDEN' // wrong bearer token
  | 'EPATH' // a path outside the allowed directory, or unusable
  | 'ENOTFOUND' // no such route
  | 'EMODEL' // the model file could not be loaded
  | 'EINCOMPATIBLE' // a model or readout that does not fit the running stream
  | 'EMODELMISMATCH' // the request expected another running model (expect_model_id)
  | 'EBUSY' // a swap or a recording change is already under way
  | 'ERECORDING' // recording already running / not running / could not open
  | 'ERATE' // over the request budget
  | 'EINTERNAL';

export class ControlError extends Error {
  constructor(readonly status: number, readonly code: ControlCode, message: string, readonly details?: Record<string, unknown>) {
    super(message);
    this.name = 'ControlError';
  }

  toJSON(): { error: { code: ControlCode; message: string } & Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

/** Misconfiguration at start-up (`--control`, token file, directories): the daemon refuses to start. */
export class ControlConfigError extends Error {
  constructor(readonly code: 'ECONTROLADDR' | 'ECONTROLTOKEN' | 'ECONTROLDIR' | 'ECONTROLBIND', message: string) {
    super(message);
    this.name = 'ControlConfigError';
  }
}
