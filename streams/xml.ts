/**
 * A small XML element tree: enough for LSL stream-info documents and XDF chunk payloads.
 * Parses elements, attributes, text, CDATA, comments, processing instructions and the five
 * predefined entities plus numeric character references. No DTDs, no namespaces beyond
 * keeping the prefixed name as written.
 */

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Concatenated character data directly inside this element (not its children). */
  text: string;
}

export class XmlError extends Error {
  readonly code = 'EXML';
  constructor(message: string, readonly offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'XmlError';
  }
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s: string, offset: number): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (_m, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return String.fromCodePoint(code);
    }
    const v = ENTITIES[ref];
    if (v === undefined) throw new XmlError(`unknown entity &${ref};`, offset);
    return v;
  });
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Parses a document and returns its root element. Throws XmlError naming the problem and its offset. */
export function parseXml(src: string): XmlElement {
  let i = 0;
  const n = src.length;
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;

  const skipUntil = (end: string, what: string): void => {
    const j = src.indexOf(end, i);
    if (j < 0) throw new XmlError(`unterminated ${what}`, i);
    i = j + end.length;
  };

  while (i < n) {
    const lt = src.indexOf('<', i);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > i) {
      const raw = src.slice(i, textEnd);
      if (stack.length > 0) stack[stack.length - 1].text += decodeEntities(raw, i);
      else if (raw.trim() !== '') throw new XmlError('text outside the root element', i);
      i = textEnd;
    }
    if (lt < 0) break;
    i = lt;
    if (src.startsWith('<!--', i)) { skipUntil('-->', 'comment'); continue; }
    if (src.startsWith('<?', i)) { skipUntil('?>', 'processing instruction'); continue; }
    if (src.startsWith('<![CDATA[', i)) {
      const start = i + 9;
      skipUntil(']]>', 'CDATA section');
      if (stack.length === 0) throw new XmlError('CDATA outside the root element', start);
      stack[stack.length - 1].text += src.slice(start, i - 3);
      continue;
    }
    if (src.startsWith('<!', i)) { skipUntil('>', 'declaration'); continue; }
    if (src[i + 1] === '/') {
      const close = src.indexOf('>', i);
      if (close < 0) throw new XmlError('unterminated end tag', i);
      const name = src.slice(i + 2, close).trim();
      const open = stack.pop();
      if (!open) throw new XmlError(`end tag </${name}> without a start tag`, i);
      if (open.name !== name) throw new XmlError(`end tag </${name}> does not match <${open.name}>`, i);
      // Indentation between child elements is layout, not content.
      if (open.children.length > 0 && open.text.trim() === '') open.text = '';
      i = close + 1;
      continue;
    }
    // Start tag.
    const m = /^<([A-Za-z_:][-A-Za-z0-9_:.]*)/.exec(src.slice(i, i + 256));
    if (!m) throw new XmlError('malformed tag', i);
    const el: XmlElement = { name: m[1], attributes: {}, children: [], text: '' };
    i += m[0].length;
    const attrRe = /\s*([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*("([^"]*)"|'([^']*)')/y;
    for (;;) {
      while (i < n && /\s/.test(src[i])) i++;
      if (i >= n) throw new XmlError(`unterminated start tag <${el.name}>`, i);
      if (src[i] === '>') { i++; break; }
      if (src.startsWith('/>', i)) { i += 2; el.text = ''; (el as XmlElement & { selfClosed?: boolean }).selfClosed = true; break; }
      attrRe.lastIndex = i;
      const a = attrRe.exec(src);
      if (!a) throw new XmlError(`malformed attribute in <${el.name}>`, i);
      el.attributes[a[1]] = decodeEntities(a[3] ?? a[4] ?? '', i);
      i = attrRe.lastIndex;
    }
    if (stack.length > 0) stack[stack.length - 1].children.push(el);
    else if (root) throw new XmlError('more than one root element', lt);
    else root = el;
    if (!(el as XmlElement & { selfClosed?: boolean }).selfClosed) stack.push(el);
    else delete (el as XmlElement & { selfClosed?: boolean }).selfClosed;
  }
  if (stack.length > 0) throw new XmlError(`element <${stack[stack.length - 1].name}> is not closed`, n);
  if (!root) throw new XmlError('no root element', 0);
  return root;
}

/** First child element with this name, or undefined. */
export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}

/** Text of the first child with this name, trimmed; undefined when absent. */
export function childText(el: XmlElement | undefined, name: string): string | undefined {
  const c = child(el, name);
  return c === undefined ? undefined : c.text.trim();
}

/** Follows a path of child names, e.g. path(info, 'desc', 'binning', 'bin_ms'). */
export function path(el: XmlElement | undefined, ...names: string[]): XmlElement | undefined {
  let cur = el;
  for (const nm of names) cur = child(cur, nm);
  return cur;
}

export function element(name: string, children: XmlElement[] = [], text = '', attributes: Record<string, string> = {}): XmlElement {
  return { name, attributes, children, text };
}

/**
 * Serialises like pugixml's default save() (what liblsl writes): one element per line,
 * indented with tabs, empty elements as `<x />`.
 */
export function serializeXml(root: XmlElement, declaration = true): string {
  const out: string[] = declaration ? ['<?xml version="1.0"?>\n'] : [];
  const write = (el: XmlElement, depth: number): void => {
    const indent = '\t'.repeat(depth);
    const attrs = Object.entries(el.attributes).map(([k, v]) => ` ${k}="${escapeXml(v)}"`).join('');
    if (el.children.length === 0) {
      if (el.text === '') out.push(`${indent}<${el.name}${attrs} />\n`);
      else out.push(`${indent}<${el.name}${attrs}>${escapeXml(el.text)}</${el.name}>\n`);
      return;
    }
    out.push(`${indent}<${el.name}${attrs}>${el.text.trim() === '' ? '' : escapeXml(el.text)}\n`);
    for (const c of el.children) write(c, depth + 1);
    out.push(`${indent}</${el.name}>\n`);
  };
  write(root, 0);
  return out.join('');
}
