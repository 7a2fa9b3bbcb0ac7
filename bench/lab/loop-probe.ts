/**
 * Lab preload (`node --import …/lab/loop-probe.js`): what the event loop and the GC did while a
 * target ran. At exit, one NDJSON line on stderr: event-loop delay (perf_hooks
 * monitorEventLoopDelay, 1 ms resolution: how late timers and I/O callbacks ran), event-loop
 * utilization, and every GC with its kind and duration.
 */
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';

const eld = monitorEventLoopDelay({ resolution: 1 });
eld.enable();
const gcs: Array<{ at_ms: number; kind: number; ms: number }> = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push({ at_ms: Math.round(e.startTime), kind: (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? -1, ms: Number(e.duration.toFixed(3)) });
}).observe({ entryTypes: ['gc'] });
const elu0 = performance.eventLoopUtilization();
process.on('exit', () => {
  eld.disable();
  const elu = performance.eventLoopUtilization(elu0);
  const ms = (ns: number): number => Number((ns / 1e6).toFixed(3));
  process.stderr.write(JSON.stringify({
    level: 'info', msg: 'loop-probe',
    event_loop_delay_ms: { p50: ms(eld.percentile(50)), p99: ms(eld.percentile(99)), max: ms(eld.max), count: eld.count },
    event_loop_utilization: Number(elu.utilization.toFixed(4)),
    gc_count: gcs.length, gc_total_ms: Number(gcs.reduce((s, g) => s + g.ms, 0).toFixed(3)), gcs: gcs.slice(-50),
  }) + '\n');
});
export {};
