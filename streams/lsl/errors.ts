/** Errors of the LSL transport; `code` lets callers branch without parsing messages. */
export type LslErrorCode =
  | 'ELSLCONFIG' // lsl_api.cfg unreadable or a value out of range
  | 'ELSLQUERY' // a discovery query outside the supported XPath subset
  | 'ELSLPROTO' // the peer broke the wire protocol (bad header, bad test pattern, corrupt sample)
  | 'ELSLMISMATCH' // the stream does not fit what the consumer needs (channel count, rate, format)
  | 'ELSLNOTFOUND' // resolve found nothing in time
  | 'ELSLPORT' // no free port in the configured range
  | 'ELSLURI'; // a malformed lsl:// endpoint URI

export class LslError extends Error {
  constructor(readonly code: LslErrorCode, message: string) {
    super(message);
    this.name = 'LslError';
  }
}
