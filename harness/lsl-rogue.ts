/**
 * A misbehaving LSL outlet for bad-input tests and the fuzzer: real sockets on 127.0.0.1 whose
 * fullinfo and feed bytes the caller chooses per connection (wrong test pattern, lying header, a
 * sample cut off mid-way, garbage).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { makeStreamInfo, streamInfoToXml, type ChannelFormat, type StreamInfo } from '../streams/stream-info.js';

export class RogueOutlet {
  info!: StreamInfo;
  /** Feed requests answered, and fullinfo requests. */
  connections = 0;
  fullinfos = 0;
  private server!: net.Server;
  private udp: dgram.Socket | undefined;
  private readonly sockets = new Set<net.Socket>();

  /**
   * `feed(sock, n)` writes what follows the request of feed connection n (1-based); `fullinfo`
   * the answer to a fullinfo request (default the honest one). `udp: false` opens no service port.
   */
  constructor(private readonly opts: {
    name: string; channelCount: number; channelFormat: ChannelFormat; srate?: number; type?: string; sourceId?: string; udp?: boolean;
    fullinfo?: (info: StreamInfo) => string;
    feed: (sock: net.Socket, connection: number) => void;
  }) {}

  async start(): Promise<this> {
    this.server = net.createServer((s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
      let buf = '';
      s.on('data', (d) => {
        if (buf === '\u0000') return; // answered: nothing more is read from this connection
        buf += d.toString('latin1');
        if (buf.startsWith('LSL:fullinfo\r\n')) {
          this.fullinfos++;
          s.end(this.opts.fullinfo ? this.opts.fullinfo(this.info) : streamInfoToXml(this.info));
          buf = '';
        } else if (buf.startsWith('LSL:streamfeed') && buf.includes('\r\n\r\n')) {
          buf = '\u0000';
          this.opts.feed(s, ++this.connections);
        }
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    if (this.opts.udp !== false) {
      const udp = dgram.createSocket('udp4');
      await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
      this.udp = udp;
    }
    this.info = makeStreamInfo({
      name: this.opts.name, channelCount: this.opts.channelCount, channelFormat: this.opts.channelFormat, nominalSrate: this.opts.srate ?? 100,
      ...(this.opts.type !== undefined ? { type: this.opts.type } : {}), ...(this.opts.sourceId !== undefined ? { sourceId: this.opts.sourceId } : {}),
      uid: randomUUID(), createdAt: 1, hostname: 'rogue', v4address: '127.0.0.1',
      v4dataPort: (this.server.address() as net.AddressInfo).port, v4servicePort: this.udp?.address().port ?? 0,
    });
    return this;
  }

  /** Sends raw bytes to a UDP port on 127.0.0.1 from this outlet's socket. */
  sendUdp(bytes: Buffer | string, port: number): void {
    if (!this.udp) throw new Error('this rogue outlet was started with udp: false');
    this.udp.send(bytes, port, '127.0.0.1');
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
    this.udp?.close();
  }
}

/** A streamfeed reply's header, as an honest outlet sends it (`extra`: more header lines, each ending in CRLF). */
export function feedOkHeader(uid: string, extra = '', dataProtocolVersion = '110'): string {
  return `LSL/110 200 OK\r\nUID: ${uid}\r\nByte-Order: 1234\r\nSuppress-Subnormals: 0\r\nData-Protocol-Version: ${dataProtocolVersion}\r\n${extra}\r\n`;
}
