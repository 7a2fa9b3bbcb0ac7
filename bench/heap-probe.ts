/**
 * Preloaded into the daemon by bench/e2e.ts (`node --expose-gc --import …/heap-probe.js`): on
 * SIGUSR2, collect garbage and log the heap as one NDJSON line on stderr. The benchmark signals
 * before the first bin and after the last, so the collections never pause a bin in flight.
 */
process.on('SIGUSR2', () => {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  process.stderr.write(JSON.stringify({ time: Date.now(), level: 'info', msg: 'heap-probe', heap_used: m.heapUsed, heap_total: m.heapTotal, rss: m.rss, external: m.external, array_buffers: m.arrayBuffers }) + '\n');
});
export {};
