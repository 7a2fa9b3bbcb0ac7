/**
 * A misbehaving LSL outlet for bad-input tests: real sockets on 127.0.0.1 whose feed bytes the
 * test chooses (wrong test pattern, lying header, a sample cut off mid-way, garbage).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { makeStreamInfo, streamInfoToXml, type ChannelFormat, type StreamInfo } from '../../../streams/stream-info.js';

export class RogueOutlet {
  info!: StreamInfo;
  connections = 0;
  private server!: net.Server;
  private udp!: dgram.Socket;
  private readonly sockets = new Set<net.Socket>();

  /** `feed(sock, n)` writes what follows the request of connection n (1-based). */
  constructor(private readonly opts: {
    name: string; channelCount: number; channelFormat: ChannelFormat; srate?: number;
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
        if (buf === null) return;
        buf += d.toString('latin1');
        if (buf.startsWith('LSL:fullinfo\r\n')) {
          s.end(this.opts.fullinfo ? this.opts.fullinfo(this.info) : streamInfoToXml(this.info));
          buf = '';
        } else if (buf.startsWith('LSL:streamfeed') && buf.includes('\r\n\r\n')) {
          buf = '\u0000';
          this.opts.feed(s, ++this.connections);
        }
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => this.udp.bind(0, '127.0.0.1', r));
    this.info = makeStreamInfo({
      name: this.opts.name, channelCount: this.opts.channelCount, channelFormat: this.opts.channelFormat, nominalSrate: this.opts.srate ?? 100,
      uid: randomUUID(), createdAt: 1, hostname: 'rogue', v4address: '127.0.0.1',
      v4dataPort: (this.server.address() as net.AddressInfo).port, v4servicePort: this.udp.address().port,
    });
    return this;
  }

  /** Sends raw bytes to a UDP port on 127.0.0.1 from this outlet's socket. */
  sendUdp(bytes: Buffer | string, port: number): void {
    this.udp.send(bytes, port, '127.0.0.1');
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
    this.udp.close();
  }
}

export const FEED_OK_HEADER = (uid: string): string =>
  `LSL/110 200 OK\r\nUID: ${uid}\r\nByte-Order: 1234\r\nSuppress-Subnormals: 0\r\nData-Protocol-Version: 110\r\n\r\n`;
