/**
 * Sources whose messages always decode (LSL samples, a recording) as the Incoming envelope the
 * daemon's pipeline takes: one reused envelope around the source's (reused) bin, no allocation.
 */
import { Observable } from 'rxjs';
import type { Incoming, SpikeBin, Source } from './types.js';

export function asIncoming(bins: Observable<SpikeBin>): Source {
  return new Observable<Incoming>((subscriber) => {
    const m: Incoming = { bin: undefined as unknown as SpikeBin, undecodable: null, raw: null };
    return bins.subscribe({
      next(bin) {
        m.bin = bin;
        subscriber.next(m);
      },
      error: (e) => subscriber.error(e),
      complete: () => subscriber.complete(),
    });
  });
}
