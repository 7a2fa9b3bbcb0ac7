// The live dashboard's page: plain browser JavaScript, no build step. It listens to the daemon's
// server-sent events (/events, with the bearer token of #token= when there is one), keeps the
// last WINDOW_S seconds of what the daemon decoded, and redraws once per animation frame after an
// update. What the plots hold is also exposed as
// window.langevindDashboard, so a test can compare the plotted values with what the daemon sent.
'use strict';
(() => {
  const WINDOW_S = 20;
  const COLORS = ['#2b59c3', '#d9480f', '#2f9e44', '#9c36b5', '#1098ad', '#e67700'];
  const $ = (id) => document.getElementById(id);

  /** Everything the page shows; the arrays are the ones handed to uPlot. */
  const state = {
    meta: null,
    hz: 0,
    updates: 0,
    /** Bins decoded and points received (points < bins when the feed decimated). */
    bins: 0,
    points: 0,
    seq: [],
    t: [],
    velocity: [],
    cursor: [],
    latency: [],
    heat: [],
    histogram: null,
    rejects: [],
    lastModelChange: null,
    modelId: '',
    status: null,
    health: null,
    dashboard: null,
    plots: {},
  };
  window.langevindDashboard = state;

  const fmt = {
    us: (v) => (v == null || !Number.isFinite(v) ? '—' : v >= 1000 ? `${+(v / 1000).toPrecision(3)} ms` : `${+v.toPrecision(3)} µs`),
    int: (v) => Number(v).toLocaleString('en-US'),
    duration: (s) => {
      s = Math.floor(s);
      const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
      return h ? `${h}h ${String(m).padStart(2, '0')}m ${String(r).padStart(2, '0')}s` : m ? `${m}m ${String(r).padStart(2, '0')}s` : `${r}s`;
    },
    label: (k) => k.replace(/_/g, ' '),
  };

  // ---- plots ----

  /** Powers of ten within [lo, hi]: log axes labelled by decade only, so the labels never collide. */
  function decades(u, axis, lo, hi) {
    const out = [];
    for (let e = Math.floor(Math.log10(Math.max(lo, 1e-9))); 10 ** e <= hi * 1.0001; e++) if (10 ** e >= lo * 0.9999) out.push(10 ** e);
    return out;
  }

  function plotWidth(el) {
    return Math.max(200, el.clientWidth);
  }

  function makeTimePlot(el, labels, units, opts = {}) {
    const series = [{ label: 't' }].concat(labels.map((l, i) => ({
      label: l,
      stroke: COLORS[i % COLORS.length],
      width: 1.5,
      points: { show: false },
      value: (u, v) => (v == null ? '—' : opts.fmt ? opts.fmt(v) : v.toFixed(3)),
    })));
    return new uPlot({
      width: plotWidth(el),
      height: opts.height || 220,
      cursor: { drag: { x: false, y: false } },
      legend: { live: false },
      scales: { x: { time: false }, y: opts.log ? { distr: 3 } : { auto: true } },
      axes: [
        { label: 'seconds since start', labelSize: 20, size: 36, grid: { stroke: '#eceef2' } },
        Object.assign({ label: units, labelSize: 20, size: 64, grid: { stroke: '#eceef2' }, values: opts.axisFmt }, opts.log ? { splits: decades } : {}),
      ],
      series,
    }, [[], ...labels.map(() => [])], el);
  }

  function makeHistogram(el, edges) {
    // One bar per bucket at its geometric centre, on a log axis, so equal widths in log space.
    const centres = edges.slice(0, -1).map((lo, i) => Math.sqrt(lo * edges[i + 1]));
    const marks = (u) => {
      const h = state.histogram;
      if (!h || !h.count) return;
      const ctx = u.ctx;
      ctx.save();
      for (const [v, color, name] of [[h.p50_us, '#2f9e44', 'p50'], [h.p99_us, '#c53030', 'p99']]) {
        const x = u.valToPos(Math.max(v, edges[0]), 'x', true);
        ctx.strokeStyle = color;
        ctx.lineWidth = 2 * devicePixelRatio;
        ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.fillStyle = color;
        ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
        ctx.fillText(name, x + 4 * devicePixelRatio, u.bbox.top + 12 * devicePixelRatio);
      }
      ctx.restore();
    };
    return new uPlot({
      width: plotWidth(el),
      height: 190,
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: false, distr: 3, range: [edges[0], edges[edges.length - 1]] }, y: { range: (u, lo, hi) => [0, Math.max(1, hi) * 1.1] } },
      axes: [
        { label: 'latency per bin', labelSize: 20, size: 36, splits: decades, values: (u, vals) => vals.map((v) => fmt.us(v)), grid: { stroke: '#eceef2' } },
        { size: 50, grid: { stroke: '#eceef2' } },
      ],
      series: [{}, { label: 'bins', fill: 'rgba(43,89,195,0.35)', stroke: '#2b59c3', width: 1, paths: uPlot.paths.bars({ size: [0.92, 40] }), points: { show: false } }],
      hooks: { draw: [marks] },
    }, [centres, centres.map(() => 0)], el);
  }

  // ---- canvases ----

  function fitCanvas(c) {
    const r = c.getBoundingClientRect();
    const w = Math.max(1, Math.round(r.width * devicePixelRatio));
    const h = Math.max(1, Math.round(r.height * devicePixelRatio));
    if (c.width !== w || c.height !== h) {
      c.width = w;
      c.height = h;
    }
    return c.getContext('2d');
  }

  function drawCursor() {
    const c = $('cursor');
    const ctx = fitCanvas(c);
    const W = c.width, H = c.height, d = devicePixelRatio;
    ctx.clearRect(0, 0, W, H);
    const [xs, ys] = state.cursor;
    if (!xs || xs.length === 0) return;
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < xs.length; i++) {
      x0 = Math.min(x0, xs[i]); x1 = Math.max(x1, xs[i]);
      y0 = Math.min(y0, ys[i]); y1 = Math.max(y1, ys[i]);
    }
    // Equal scale on both axes, so the path's shape is the movement's.
    const span = Math.max(x1 - x0, y1 - y0, 1e-9) * 1.15;
    const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    const pad = 12 * d;
    const s = (Math.min(W, H) - 2 * pad) / span;
    const px = (x) => W / 2 + (x - cx) * s;
    const py = (y) => H / 2 - (y - cy) * s;
    ctx.strokeStyle = '#eceef2';
    ctx.lineWidth = d;
    ctx.strokeRect(pad / 2, pad / 2, W - pad, H - pad);
    const n = xs.length;
    ctx.lineWidth = 1.5 * d;
    for (let i = 1; i < n; i++) {
      // Older segments fade, so the direction of travel reads at a glance.
      ctx.strokeStyle = `rgba(43,89,195,${(0.15 + 0.85 * (i / n)).toFixed(3)})`;
      ctx.beginPath();
      ctx.moveTo(px(xs[i - 1]), py(ys[i - 1]));
      ctx.lineTo(px(xs[i]), py(ys[i]));
      ctx.stroke();
    }
    ctx.fillStyle = '#d9480f';
    ctx.beginPath();
    ctx.arc(px(xs[n - 1]), py(ys[n - 1]), 4.5 * d, 0, 2 * Math.PI);
    ctx.fill();
    ctx.fillStyle = '#6b7385';
    ctx.font = `${11 * d}px system-ui, sans-serif`;
    ctx.fillText(`x ${xs[n - 1].toFixed(2)}  y ${ys[n - 1].toFixed(2)}  (last ${WINDOW_S} s)`, pad, H - pad);
  }

  function drawHeatmap() {
    const c = $('heatmap');
    const ctx = fitCanvas(c);
    const W = c.width, H = c.height, d = devicePixelRatio;
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, W, H);
    const m = state.meta;
    if (!m) return;
    const left = 44 * d, bottom = 18 * d;
    const cols = state.heat;
    // The same time window as the other plots, newest column at the right edge.
    const nCols = Math.max(1, Math.round((WINDOW_S * 1000) / m.heat_column_ms));
    const colW = (W - left) / nCols;
    const shown = cols.slice(-nCols);
    let max = 1;
    for (const col of shown) for (const v of col) if (v > max) max = v;
    const rowH = (H - bottom) / m.heat_rows;
    const x0 = W - shown.length * colW;
    for (let j = 0; j < shown.length; j++) {
      const col = shown[j];
      for (let r = 0; r < col.length; r++) {
        const a = Math.sqrt(col[r] / max);
        // White → deep blue: a sequential scale that prints and reads on a light page.
        const R = Math.round(255 - a * (255 - 24)), G = Math.round(255 - a * (255 - 54)), B = Math.round(255 - a * (255 - 140));
        ctx.fillStyle = `rgb(${R},${G},${B})`;
        ctx.fillRect(x0 + j * colW, r * rowH, Math.ceil(colW), Math.ceil(rowH));
      }
    }
    ctx.fillStyle = '#6b7385';
    ctx.font = `${10 * d}px system-ui, sans-serif`;
    const step = Math.max(1, Math.ceil(m.heat_rows / 6));
    for (let r = 0; r < m.heat_rows; r += step) ctx.fillText(`ch ${r * m.channels_per_row + 1}`, 2 * d, r * rowH + 10 * d);
    ctx.fillText(`← ${WINDOW_S} s`, left, H - 4 * d);
    ctx.fillText('now', W - 24 * d, H - 4 * d);
    ctx.fillText(`max ${fmt.int(max)} spikes per cell`, left + (W - left) / 2 - 50 * d, H - 4 * d);
  }

  // ---- tables ----

  function renderTable(el, rows, attr) {
    el.replaceChildren(...rows.map(([key, label, value, cls]) => {
      const row = document.createElement('div');
      row.className = `kv-row ${cls || ''}`;
      const a = document.createElement('span');
      a.textContent = label;
      a.title = label;
      const b = document.createElement('b');
      b.textContent = typeof value === 'number' ? fmt.int(value) : String(value);
      b.setAttribute(attr, key);
      if (typeof value === 'number') b.dataset.value = String(value);
      row.append(a, b);
      return row;
    }));
  }

  /**
   * /status: { summary, model_id, last_swap, recording } (the summary SIGINT prints, live). Every
   * numeric field of the summary is shown under its own name, so a new counter appears by itself.
   */
  function renderStatus() {
    const top = state.status;
    if (!top) return;
    const s = top.summary && typeof top.summary === 'object' ? top.summary : top;
    const rows = [];
    for (const [k, v] of Object.entries(s)) {
      if (typeof v !== 'number' || k === 'uptime_s') continue;
      const alert = v > 0 && /error|drop|reject|gap|reset|restart/.test(k);
      rows.push([k, fmt.label(k), v, v === 0 ? 'zero' : alert ? 'alert' : '']);
    }
    for (const [group, obj] of Object.entries(s)) {
      if (!obj || typeof obj !== 'object' || Array.isArray(obj) || group === 'rejects' || group === 'latency_us') continue;
      for (const [k, v] of Object.entries(obj)) if (typeof v === 'number') rows.push([`${group}.${k}`, `${fmt.label(group)}: ${fmt.label(k)}`, v, v === 0 ? 'zero' : '']);
    }
    renderTable($('counters'), rows, 'data-counter');
    const rej = Object.entries(s.rejects || {}).map(([k, v]) => [k, fmt.label(k), v, v === 0 ? 'zero' : 'alert']);
    renderTable($('rejects'), rej, 'data-reject');
    const outs = (s.outputs || []).map((o, i) => [String(i), o.uri, `${fmt.int(o.sent)} sent · ${fmt.int(o.dropped)} dropped`, o.dropped ? 'alert' : '']);
    renderTable($('outputs'), outs, 'data-output');
    if (typeof s.uptime_s === 'number') $('uptime').textContent = fmt.duration(s.uptime_s);
    if (top.model_id) state.modelId = top.model_id;
    const rec = top.recording;
    $('recording').textContent = rec ? (rec.path || String(rec)).split('/').pop() : 'off';
    const sw = top.last_swap;
    if (sw) {
      const short = (id) => String(id || '').slice(0, 10);
      $('last-swap').textContent = `${sw.kind} ${short(sw.previous_model_id)} → ${short(sw.model_id)} after seq ${sw.after_seq}`;
      $('last-swap').title = JSON.stringify(sw);
    } else if (state.lastModelChange) {
      const c = state.lastModelChange;
      const ago = state.t.length ? Math.max(0, state.t[state.t.length - 1] - c.t) : 0;
      $('last-swap').textContent = `${c.from.slice(0, 10)} → ${c.to.slice(0, 10)} at seq ${c.seq} (${fmt.duration(ago)} ago)`;
      $('last-swap').title = `${c.from} → ${c.to}`;
    }
  }

  /** /healthz: ok, or the reasons it is not; whatever shape, the words are shown. */
  function renderHealth() {
    const h = state.health;
    const el = $('health');
    if (!h) return;
    const word = String(h.status ?? (h.ok === false ? 'unhealthy' : h.ok === true ? 'ok' : 'unknown'));
    const ok = h.ok === true || word === 'ok' || word === 'healthy';
    const reasons = [].concat(h.reasons || [], h.warnings || []).map((r) => (typeof r === 'string' ? r : r.message || r.detail || r.code || JSON.stringify(r)));
    el.textContent = word;
    el.dataset.health = word;
    el.className = `badge ${ok ? (reasons.length ? 'warn' : 'ok') : 'bad'}`;
    const box = $('health-reasons');
    box.hidden = reasons.length === 0;
    box.className = `reasons${ok ? '' : ' bad'}`;
    box.textContent = reasons.join(' · ');
  }

  // ---- data ----

  function setup(hello) {
    const m = hello.meta;
    state.meta = m;
    state.hz = hello.hz;
    state.seq = [];
    state.t = [];
    state.velocity = m.velocity_labels.map(() => []);
    state.cursor = m.velocity_labels.map(() => []);
    state.latency = [];
    state.heat = [];
    for (const p of Object.values(state.plots)) p.destroy();
    state.plots.velocity = makeTimePlot($('velocity-plot'), m.velocity_labels, 'velocity');
    state.plots.latency = makeTimePlot($('latency-plot'), ['sent − received'], 'latency', { log: true, fmt: fmt.us, axisFmt: (u, vals) => vals.map((v) => fmt.us(v)), height: 200 });
    state.plots.histogram = makeHistogram($('histogram-plot'), m.latency_edges_us);
    $('heat-note').textContent = `${m.n_in} channels${m.channels_per_row > 1 ? `, summed in rows of ${m.channels_per_row}` : ''}, ${m.heat_column_ms} ms per column`;
    snapshot(hello);
  }

  function snapshot(s) {
    if (s.status) state.status = s.status;
    if (s.health) state.health = s.health;
    if (s.dashboard) state.dashboard = s.dashboard;
  }

  function trim() {
    const t = state.t;
    if (t.length === 0) return;
    const cut = t[t.length - 1] - WINDOW_S;
    let k = 0;
    while (k < t.length && t[k] < cut) k++;
    if (k === 0) return;
    for (const a of [state.seq, state.t, state.latency, ...state.velocity, ...state.cursor]) a.splice(0, k);
  }

  function apply(f) {
    state.updates++;
    state.bins += f.bins;
    state.points += f.seq.length;
    // The stream restarts its clock when the daemon restarts: start the plots over.
    if (state.t.length && f.t.length && f.t[0] < state.t[state.t.length - 1]) {
      for (const a of [state.seq, state.t, state.latency, ...state.velocity, ...state.cursor]) a.length = 0;
    }
    for (let i = 0; i < f.seq.length; i++) {
      state.seq.push(f.seq[i]);
      state.t.push(f.t[i]);
      state.latency.push(Math.max(0.1, f.latency_us[i]));
      for (let k = 0; k < state.velocity.length; k++) {
        state.velocity[k].push(f.velocity[k][i]);
        state.cursor[k].push(f.cursor[k][i]);
      }
    }
    trim();
    for (const col of f.heat) state.heat.push(col);
    if (state.heat.length > 2000) state.heat.splice(0, state.heat.length - 2000);
    for (const r of f.rejects) state.rejects.push(r);
    if (state.rejects.length > 5) state.rejects.splice(0, state.rejects.length - 5);
    if (f.latency) state.histogram = f.latency;
    if (f.last_model_change) state.lastModelChange = f.last_model_change;
    if (f.model_id) state.modelId = f.model_id;
    $('vel-note').textContent = f.stride > 1 ? `every ${f.stride}th bin` : 'every bin';
  }

  /** Bins per second over the last ~2 s of updates. */
  const arrivals = [];
  function binRate() {
    const now = performance.now();
    arrivals.push([now, state.bins]);
    while (arrivals.length > 2 && now - arrivals[0][0] > 2000) arrivals.shift();
    const [t0, b0] = arrivals[0];
    return now > t0 ? ((state.bins - b0) * 1000) / (now - t0) : 0;
  }

  let pending = false;
  function redraw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      const p = state.plots;
      if (!p.velocity) return;
      p.velocity.setData([state.t, ...state.velocity]);
      p.latency.setData([state.t, state.latency]);
      if (state.histogram) {
        const h = state.histogram;
        p.histogram.setData([p.histogram.data[0], h.bars]);
        $('p50').textContent = fmt.us(h.p50_us);
        $('p99').textContent = fmt.us(h.p99_us);
        $('pmax').textContent = fmt.us(h.max_us);
        $('p50').dataset.value = String(h.p50_us);
        $('p99').dataset.value = String(h.p99_us);
        $('hist-note').textContent = `${fmt.int(h.count)} bins since start`;
      }
      drawCursor();
      drawHeatmap();
      renderStatus();
      renderHealth();
      if (state.modelId) $('model-id').textContent = state.modelId;
      $('rate').textContent = `${binRate().toFixed(1)} bins/s · ${state.meta.bin_ms} ms bins`;
      $('recent-rejects').replaceChildren(...state.rejects.slice().reverse().map((r) => {
        const li = document.createElement('li');
        const b = document.createElement('b');
        b.textContent = r.kind;
        li.append(b, ` ${r.seq == null ? '' : `seq ${r.seq}: `}${r.detail}`);
        li.title = r.detail;
        return li;
      }));
      const ds = state.dashboard;
      $('footer').textContent = `${fmt.int(state.updates)} updates at ${state.hz} Hz · ${fmt.int(state.bins)} bins seen, ${fmt.int(state.points)} plotted` +
        (ds ? ` · ${ds.clients} viewer${ds.clients === 1 ? '' : 's'}, ${fmt.int(ds.frames_skipped)} frames skipped for slow viewers` : '');
    });
  }

  function resize() {
    for (const [name, el] of [['velocity', 'velocity-plot'], ['latency', 'latency-plot'], ['histogram', 'histogram-plot']]) {
      const p = state.plots[name];
      if (p) p.setSize({ width: plotWidth($(el)), height: p.height });
    }
    redraw();
  }
  window.addEventListener('resize', resize);

  /** The health badge for a page that is not receiving: why, in words. */
  function showOffline(word, detail) {
    const el = $('health');
    el.textContent = word;
    el.dataset.health = word;
    el.className = 'badge bad';
    const box = $('health-reasons');
    box.hidden = !detail;
    box.className = 'reasons bad';
    box.textContent = detail || '';
  }

  function dispatch(event, data) {
    if (event === 'hello') {
      setup(JSON.parse(data));
      redraw();
    } else if (event === 'update') {
      const u = JSON.parse(data);
      if (!state.meta) return;
      apply(u.feed);
      snapshot(u);
      redraw();
    }
  }

  // The control API's bearer token, when it has one: given in the address's fragment
  // (http://rig:7370/#token=…), which the browser never sends anywhere, kept for this tab only and
  // taken out of the address bar.
  const token = (() => {
    const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (m) {
      sessionStorage.setItem('langevind-token', decodeURIComponent(m[1]));
      history.replaceState(null, '', location.pathname + location.search);
    }
    return sessionStorage.getItem('langevind-token');
  })();

  /** Frames of a text/event-stream body, as (event, data) calls; returns when the stream ends. */
  async function readEvents(body, onEvent) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, end);
        buf = buf.slice(end + 2);
        let event = 'message';
        const data = [];
        for (const line of frame.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5));
        }
        if (data.length > 0) onEvent(event, data.join('\n'));
      }
    }
  }

  // Server-sent events read with fetch, not EventSource, which cannot send an Authorization
  // header: beyond loopback /events needs the token. Reconnects a second after the stream breaks.
  (async () => {
    for (;;) {
      try {
        const res = await fetch('/events', { headers: token ? { authorization: `Bearer ${token}` } : {}, cache: 'no-store' });
        if (res.status === 401 || res.status === 403) {
          // Retrying cannot help until the address carries the right token.
          showOffline(res.status === 401 ? 'token needed' : 'wrong token', `open this page as ${location.origin}/#token=… (the token in --control-token-file)`);
          return;
        }
        if (!res.ok || !res.body) throw new Error(`GET /events: HTTP ${res.status}`);
        await readEvents(res.body, dispatch);
      } catch {
        // The daemon went away or the network broke; shown below, then tried again.
      }
      showOffline('disconnected');
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
})();
