/**
 * Server-sent events to any number of browsers, none of which can hold anything up. Each frame is
 * encoded once and written to every client whose socket has room; a client whose unsent bytes
 * exceed maxBufferBytes misses frames until it catches up, and one that stays that far behind for
 * staleMs is closed. Node buffers at most maxBufferBytes + one frame per client, and a write never
 * waits: the decoder shares the event loop with this, so nothing here may block.
 */
import type { ServerResponse } from 'node:http';

export interface SseHubOptions {
  /** Unsent bytes a client may have before it misses frames (default 256 KiB). */
  maxBufferBytes?: number;
  /** A client behind for longer than this is closed (default 10 s). */
  staleMs?: number;
}

export interface SseStats {
  clients: number;
  frames_sent: number;
  /** Frames not written to a client because its socket was full. */
  frames_skipped: number;
  /** Clients closed for staying behind. */
  closed_slow: number;
  /** The most bytes ever left unsent for one client right after a write. */
  max_buffered_bytes: number;
}

interface Client {
  res: ServerResponse;
  /** performance.now() when it fell behind, 0 while it keeps up. */
  behindSince: number;
}

export class SseHub {
  private readonly clients = new Set<Client>();
  private readonly maxBufferBytes: number;
  private readonly staleMs: number;
  private readonly counts = { frames_sent: 0, frames_skipped: 0, closed_slow: 0, max_buffered_bytes: 0 };

  constructor(opts: SseHubOptions = {}) {
    this.maxBufferBytes = opts.maxBufferBytes ?? 256 * 1024;
    this.staleMs = opts.staleMs ?? 10000;
  }

  get size(): number {
    return this.clients.size;
  }

  /** Takes over a response: event-stream headers, then the first frame (e.g. what the page needs to set up). */
  add(res: ServerResponse, first?: { event: string; data: string }): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    const client: Client = { res, behindSince: 0 };
    this.clients.add(client);
    const drop = (): void => {
      this.clients.delete(client);
    };
    res.on('close', drop);
    res.on('error', drop);
    // The browser reconnects after this long if the stream breaks.
    res.write('retry: 1000\n\n');
    if (first) res.write(frame(first.event, first.data));
  }

  /** One frame to every client that has room. */
  broadcast(event: string, data: string): void {
    if (this.clients.size === 0) return;
    const buf = frame(event, data);
    const now = performance.now();
    for (const c of this.clients) {
      const res = c.res;
      if (res.destroyed || res.writableEnded) {
        this.clients.delete(c);
        continue;
      }
      if (res.writableLength > this.maxBufferBytes) {
        this.counts.frames_skipped++;
        if (c.behindSince === 0) c.behindSince = now;
        else if (now - c.behindSince > this.staleMs) {
          this.counts.closed_slow++;
          this.clients.delete(c);
          res.destroy();
        }
        continue;
      }
      c.behindSince = 0;
      res.write(buf);
      this.counts.frames_sent++;
      if (res.writableLength > this.counts.max_buffered_bytes) this.counts.max_buffered_bytes = res.writableLength;
    }
  }

  stats(): SseStats {
    return { clients: this.clients.size, ...this.counts };
  }

  /** Ends every stream (server shutdown). */
  close(): void {
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }
}

function frame(event: string, data: string): Buffer {
  // JSON has no raw newlines, so one data: line carries it.
  return Buffer.from(`event: ${event}\ndata: ${data}\n\n`);
}
