/**
 * The subject's screen: a full-screen canvas page served on 127.0.0.1 that draws the cursor and
 * the target it receives over Server-Sent Events. The task logic stays in Node; the page only
 * renders. For tests and displays the page also exposes what it last drew: `window.taskView`
 * ({cursor, target, radius, state, trial, frames}) and data attributes on <body>
 * (data-state, data-trial, data-cursor="x,y", data-target="x,y" or "").
 *
 * A client that cannot keep up misses frames (a frame is dropped while its socket is full)
 * rather than holding memory for it: the screen only ever needs the newest state.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PageFrame {
  cursor: [number, number];
  /** Null while no target is shown. */
  target: [number, number] | null;
  radius: number;
  state: string;
  trial: number;
}

export interface TaskPageOptions {
  /** TCP port on 127.0.0.1 (0: any free one). */
  port: number;
  /** Workspace half-width: the page maps [−w, w]² onto the largest centred square. */
  halfWidth: number;
}

const PAGE = (halfWidth: number): string => `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>langevind task</title>
<style>html,body{margin:0;height:100%;background:#000;overflow:hidden;cursor:none}canvas{display:block;width:100vw;height:100vh}</style>
</head><body data-state="" data-trial="" data-cursor="" data-target="">
<canvas id="screen"></canvas>
<script>
"use strict";
const W = ${JSON.stringify(halfWidth)};
const canvas = document.getElementById('screen');
const ctx = canvas.getContext('2d');
window.taskView = { cursor: null, target: null, radius: 0, state: '', trial: -1, frames: 0, connected: false };
const colours = { target_on: '#d55e00', hold: '#009e73', success: '#56b4e9' };
function draw() {
  const v = window.taskView;
  const dpr = window.devicePixelRatio || 1;
  const cw = canvas.clientWidth * dpr, ch = canvas.clientHeight * dpr;
  if (canvas.width !== cw || canvas.height !== ch) { canvas.width = cw; canvas.height = ch; }
  const s = Math.min(cw, ch) / (2 * W);
  const px = (x) => cw / 2 + x * s, py = (y) => ch / 2 - y * s;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, cw, ch);
  if (v.target) {
    ctx.fillStyle = colours[v.state] || '#d55e00';
    ctx.beginPath(); ctx.arc(px(v.target[0]), py(v.target[1]), v.radius * s, 0, 2 * Math.PI); ctx.fill();
  }
  if (v.cursor) {
    ctx.fillStyle = '#fff';
    ctx.beginPath(); ctx.arc(px(v.cursor[0]), py(v.cursor[1]), Math.max(3, 0.4 * s), 0, 2 * Math.PI); ctx.fill();
  }
}
let pending = false;
function schedule() { if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; draw(); }); } }
const es = new EventSource('/events');
es.onopen = () => { window.taskView.connected = true; };
es.onmessage = (m) => {
  const f = JSON.parse(m.data);
  const v = window.taskView;
  v.cursor = f.cursor; v.target = f.target; v.radius = f.radius; v.state = f.state; v.trial = f.trial; v.frames++;
  const b = document.body.dataset;
  b.state = f.state; b.trial = String(f.trial); b.cursor = f.cursor.join(','); b.target = f.target ? f.target.join(',') : '';
  schedule();
};
window.addEventListener('resize', schedule);
schedule();
</script></body></html>
`;

export class TaskPage {
  private readonly clients = new Set<http.ServerResponse>();
  private last: string | null = null;
  dropped = 0;

  private constructor(private readonly server: http.Server, readonly url: string) {}

  static async open(o: TaskPageOptions): Promise<TaskPage> {
    const html = PAGE(o.halfWidth);
    let page!: TaskPage;
    const server = http.createServer((req, res) => page.handle(req, res, html));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
    });
    const port = (server.address() as AddressInfo).port;
    page = new TaskPage(server, `http://127.0.0.1:${port}/`);
    return page;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, html: string): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
    } else if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
    } else if (path === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.socket?.setNoDelay(true);
      res.write('retry: 500\n\n');
      if (this.last) res.write(this.last);
      this.clients.add(res);
      req.on('close', () => this.clients.delete(res));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  }

  /** Sends a frame to every screen. */
  show(f: PageFrame): void {
    const msg = `data: ${JSON.stringify(f)}\n\n`;
    this.last = msg;
    for (const c of this.clients) {
      if (c.writableNeedDrain) { this.dropped++; continue; }
      c.write(msg);
    }
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.end();
    this.clients.clear();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
