/**
 * What this machine allows, measured beside the end-to-end benchmark with the same pacing and the
 * same CPU layout, so that e2e.json says how much of the end-to-end tail is ours:
 *
 *   stall     one thread spinning on the clock for --seconds: every gap over 0.2 ms is time the
 *             machine took the CPU away. No process here can have a latency maximum below the
 *             longest of these.
 *   node_tcp  two Node processes, 800-byte ping-pong over plain TCP on 127.0.0.1 (no ZeroMQ, no
 *             protobuf, no filter): the least any Node daemon and Node replay tool can cost.
 *   pyzmq     two Python processes (Debian python3-zmq, libzmq) doing the same over ZeroMQ PUB/SUB
 *             with two frames: the least libzmq costs here, without Node. Skipped, with the
 *             reason, where /usr/bin/python3 has no zmq module.
 *
 *   node dist/bench/floor.js [--bins 3000] [--bin-ms 20] [--seconds 60] [--a-cpus 1] [--b-cpus 0]
 *
 * Run by e2e.js (phase "floor"); standalone it prints the JSON on stdout.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseCpuList, pinProcess } from '../daemon/affinity.js';
import { roundSummary, summarize } from '../report/stats.js';
import { pace } from '../streams/replay.js';

const SELF = fileURLToPath(import.meta.url);
const PAYLOAD_BYTES = 800;

/** Round-trip latency in ms, summarised as the replay report summarises it. */
export type LatencySummary = ReturnType<typeof roundSummary>;

const summarizeMs = (samplesMs: ArrayLike<number>): LatencySummary => roundSummary(summarize(samplesMs));

/** Spins on the clock; returns the gaps the thread did not get to run. */
function stallProbe(seconds: number): { seconds: number; gaps_over_0_2ms: number; gaps_over_1ms: number; gaps_over_5ms: number; longest_ms: number } {
  const end = performance.now() + seconds * 1000;
  let t = performance.now();
  let g02 = 0;
  let g1 = 0;
  let g5 = 0;
  let longest = 0;
  while (t < end) {
    const n = performance.now();
    const gap = n - t;
    if (gap > 0.2) {
      g02++;
      if (gap > 1) g1++;
      if (gap > 5) g5++;
      if (gap > longest) longest = gap;
    }
    t = n;
  }
  return { seconds, gaps_over_0_2ms: g02, gaps_over_1ms: g1, gaps_over_5ms: g5, longest_ms: Math.round(longest * 1e3) / 1e3 };
}

/** `floor.js --tcp-echo`: echoes every byte back; logs its port on stdout. */
function tcpEcho(): void {
  const srv = createServer((s) => {
    s.setNoDelay(true);
    s.on('data', (d) => s.write(d));
    s.on('error', () => undefined);
    s.on('close', () => srv.close());
  });
  srv.listen(0, '127.0.0.1', () => process.stdout.write(`${(srv.address() as { port: number }).port}\n`));
}

/** `floor.js --tcp-ping PORT`: paced 800-byte round trips; prints the latency summary. */
function tcpPing(port: number, bins: number, binMs: number): void {
  const sock: Socket = connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  const payload = Buffer.alloc(PAYLOAD_BYTES, 7);
  const lat = new Float64Array(bins);
  let sentAt = 0;
  let pending = 0;
  let done = 0;
  let pacer: ReturnType<typeof pace> | undefined;
  sock.on('data', (d) => {
    pending -= d.length;
    if (pending > 0) return;
    lat[done++] = performance.now() - sentAt;
    if (done === bins) {
      sock.end();
      process.stdout.write(JSON.stringify(summarizeMs(lat)) + '\n');
    } else pacer?.resume();
  });
  sock.once('connect', () => {
    pacer = pace({
      count: bins,
      dueMs: (i) => 200 + i * binMs,
      emit: () => {
        sentAt = performance.now();
        pending = PAYLOAD_BYTES;
        sock.write(payload);
        // One round trip at a time, like a bin and its decode.
        return false;
      },
      done: () => undefined,
    });
  });
}

const PYZMQ = String.raw`
import os, sys, time, zmq
role, a, b, n, iv, cpus = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]) / 1000, sys.argv[6]
if cpus: os.sched_setaffinity(0, {int(c) for c in cpus.split(',')})
ctx = zmq.Context()
if role == 'echo':
    sub = ctx.socket(zmq.SUB); sub.setsockopt(zmq.SUBSCRIBE, b''); sub.connect(a)
    pub = ctx.socket(zmq.PUB); pub.bind(b)
    print('ready', flush=True)
    while True:
        m = sub.recv_multipart()
        if m[0] == b'quit': break
        pub.send_multipart(m)
else:
    pub = ctx.socket(zmq.PUB); pub.bind(a)
    sub = ctx.socket(zmq.SUB); sub.setsockopt(zmq.SUBSCRIBE, b''); sub.connect(b)
    time.sleep(1.0)
    payload = b'\x07' * 800
    lat = []
    t0 = time.monotonic() + 0.2
    for i in range(n):
        due = t0 + i * iv
        while time.monotonic() < due - 0.0015: time.sleep(0.0005)
        while time.monotonic() < due: pass
        s = time.perf_counter_ns(); pub.send_multipart([b'spikes', payload]); sub.recv_multipart(); e = time.perf_counter_ns()
        lat.append((e - s) / 1e6)
    pub.send_multipart([b'quit', b''])
    print('[' + ','.join('%.4f' % x for x in lat) + ']', flush=True)
`;

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      buf += s;
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before it was ready`)));
  });
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  );
}

const pinArgs = (cpus?: string): string[] => (cpus ? ['--cpus', cpus] : []);

async function nodeTcp(bins: number, binMs: number, aCpus?: string, bCpus?: string): Promise<LatencySummary> {
  const echo = spawn(process.execPath, [SELF, '--tcp-echo', ...pinArgs(aCpus)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await firstLine(echo);
    const out = await run(process.execPath, [SELF, '--tcp-ping', port, '--bins', String(bins), '--bin-ms', String(binMs), ...pinArgs(bCpus)], bins * binMs + 60_000);
    return JSON.parse(out) as LatencySummary;
  } finally {
    echo.kill();
  }
}

async function pyzmq(bins: number, binMs: number, ports: [number, number], aCpus?: string, bCpus?: string): Promise<LatencySummary | { skipped: string }> {
  try {
    await run('/usr/bin/python3', ['-c', 'import zmq'], 10_000);
  } catch {
    return { skipped: '/usr/bin/python3 has no zmq module (Debian: apt-get install python3-zmq)' };
  }
  const [a, b] = ports.map((p) => `tcp://127.0.0.1:${p}`);
  const echo = spawn('/usr/bin/python3', ['-c', PYZMQ, 'echo', a, b, '0', '0', aCpus ?? ''], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await firstLine(echo);
    const out = await run('/usr/bin/python3', ['-c', PYZMQ, 'ping', a, b, String(bins), String(binMs), bCpus ?? ''], bins * binMs + 60_000);
    return summarizeMs(JSON.parse(out) as number[]);
  } finally {
    echo.kill();
  }
}

export interface FloorResult {
  params: { bins: number; bin_ms: number; stall_seconds: number; a_cpus: string | null; b_cpus: string | null };
  stall: ReturnType<typeof stallProbe>;
  node_tcp: LatencySummary;
  pyzmq: LatencySummary | { skipped: string };
}

/**
 * The three floors. `aCpus` pins the side standing in for the daemon, `bCpus` the side standing in
 * for the replay tool (and the stall probe), as e2e.js pins them.
 */
export async function measureFloor(o: { bins: number; binMs: number; stallSeconds: number; ports: [number, number]; aCpus?: string; bCpus?: string }): Promise<FloorResult> {
  const stall = JSON.parse(await run(process.execPath, [SELF, '--stall', String(o.stallSeconds), ...pinArgs(o.bCpus)], o.stallSeconds * 1000 + 30_000)) as FloorResult['stall'];
  const node_tcp = await nodeTcp(o.bins, o.binMs, o.aCpus, o.bCpus);
  const py = await pyzmq(o.bins, o.binMs, o.ports, o.aCpus, o.bCpus);
  return { params: { bins: o.bins, bin_ms: o.binMs, stall_seconds: o.stallSeconds, a_cpus: o.aCpus ?? null, b_cpus: o.bCpus ?? null }, stall, node_tcp, pyzmq: py };
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      'tcp-echo': { type: 'boolean', default: false },
      'tcp-ping': { type: 'string' },
      stall: { type: 'string' },
      cpus: { type: 'string' },
      bins: { type: 'string', default: '3000' },
      'bin-ms': { type: 'string', default: '20' },
      seconds: { type: 'string', default: '60' },
      'a-cpus': { type: 'string' },
      'b-cpus': { type: 'string' },
    },
  });
  if (v.cpus) pinProcess(parseCpuList(v.cpus));
  const bins = Number(v.bins);
  const binMs = Number(v['bin-ms']);
  if (v['tcp-echo']) return tcpEcho();
  if (v['tcp-ping']) return tcpPing(Number(v['tcp-ping']), bins, binMs);
  if (v.stall) {
    process.stdout.write(JSON.stringify(stallProbe(Number(v.stall))) + '\n');
    return;
  }
  const { freePort } = await import('../harness/net.js');
  const r = await measureFloor({ bins, binMs, stallSeconds: Number(v.seconds), ports: [await freePort(), await freePort()], aCpus: v['a-cpus'], bCpus: v['b-cpus'] });
  process.stdout.write(JSON.stringify(r, null, 2) + '\n');
}

if (process.argv[1] === SELF) {
  main().catch((err: unknown) => {
    process.stderr.write(`floor: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
