/** What a browser test reads off the dashboard page: the plotted series and the rendered figures. */
export interface PageState {
  seq: number[];
  plotted: number[][];
  counters: Record<string, number>;
  rejects: Record<string, number>;
  health: string;
  modelId: string;
  p50: number;
  p99: number;
}

/** Read in the page (a string: this project compiles without the DOM's types). */
export const READ_PAGE = `(() => {
  const s = window.langevindDashboard;
  const read = (attr) => {
    const o = {};
    for (const el of document.querySelectorAll('[' + attr + ']')) o[el.getAttribute(attr)] = Number(el.dataset.value);
    return o;
  };
  return {
    seq: s.seq.slice(),
    plotted: s.plots.velocity.data.map((a) => Array.from(a)),
    counters: read('data-counter'),
    rejects: read('data-reject'),
    health: document.getElementById('health').dataset.health,
    modelId: document.getElementById('model-id').textContent,
    p50: Number(document.getElementById('p50').dataset.value),
    p99: Number(document.getElementById('p99').dataset.value),
  };
})()`;
