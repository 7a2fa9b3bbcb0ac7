/** A self-contained HTML page (inline CSS and SVG, no scripts, no external resources). */
import { esc } from './svg.js';

export interface Section {
  heading: string;
  /** Trusted HTML (SVG plots, tables built with `table`). */
  html: string;
}

export function table(rows: [string, string | number | null][]): string {
  return `<table>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v === null ? '—' : String(v))}</td></tr>`).join('')}</table>`;
}

export function htmlPage(title: string, sections: Section[], footer = ''): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:780px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em}th,td{padding:2px 10px;border-bottom:1px solid #eee;text-align:left}
th{font-weight:600;color:#555}svg{max-width:100%;height:auto}footer{margin-top:2em;color:#888;font-size:.8em}
</style></head><body>
<h1>${esc(title)}</h1>
${sections.map((s) => `<section><h2>${esc(s.heading)}</h2>\n${s.html}\n</section>`).join('\n')}
${footer ? `<footer>${esc(footer)}</footer>` : ''}
</body></html>
`;
}
