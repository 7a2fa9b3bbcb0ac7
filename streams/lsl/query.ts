/**
 * The XPath 1.0 subset that LSL discovery queries use (lsl-protocol.md §3.3), evaluated as a boolean
 * against an `<info>` element: the empty query; and/or/not(); parentheses; = != < <= > >=; + - * div mod;
 * string and number literals; relative and absolute paths with `*`, `.`, `..`, `//` and predicates
 * (`desc/channels/channel[type='EEG']`, `[2]`); @attributes; count(), contains(), starts-with(),
 * string(), number(), boolean(), string-length(), normalize-space(), concat(), true(), false().
 * Comparison semantics are XPath's (node-set = string is true if any node's text matches).
 * A query outside the subset throws LslError('ELSLQUERY'); liblsl counts a bad query as "no match".
 */
import type { XmlElement } from '../xml.js';
import { LslError } from './errors.js';

type Val = number | string | boolean | Node[];
interface Node { el: XmlElement | null; parent: Node | null; attr?: string }
type Expr = (ctx: Node) => Val;

function stringValue(n: Node): string {
  if (n.attr !== undefined) return n.attr;
  const el = n.el;
  if (!el) return '';
  let s = el.text;
  for (const c of el.children) s += stringValue({ el: c, parent: n });
  return s;
}
const toStr = (v: Val): string => (Array.isArray(v) ? (v.length ? stringValue(v[0]) : '') : typeof v === 'number' ? fmtNum(v) : String(v));
const strToNum = (s: string): number => (/^\s*-?(\d+(\.\d*)?|\.\d+)\s*$/.test(s) ? Number(s) : NaN);
const toNum = (v: Val): number => (typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : strToNum(toStr(v)));
const toBool = (v: Val): boolean => (Array.isArray(v) ? v.length > 0 : typeof v === 'number' ? v !== 0 && !Number.isNaN(v) : typeof v === 'string' ? v.length > 0 : v);
function fmtNum(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  return Number.isInteger(x) ? String(x) : String(x);
}

function compare(op: string, a: Val, b: Val): boolean {
  const rel = (x: number, y: number): boolean =>
    op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : op === '>=' ? x >= y : op === '=' ? x === y : x !== y;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (Array.isArray(a) && Array.isArray(b)) {
      return a.some((x) => b.some((y) => (op === '=' || op === '!=' ? rel2str(op, stringValue(x), stringValue(y)) : rel(strToNum(stringValue(x)), strToNum(stringValue(y))))));
    }
    const [ns, other, flipped] = Array.isArray(a) ? [a, b, false] : [b as Node[], a, true];
    if (typeof other === 'boolean') return cmpScalar(op, toBool(ns), other, flipped);
    return ns.some((n) => {
      const s = stringValue(n);
      const lhs: Val = typeof other === 'number' ? strToNum(s) : s;
      return cmpScalar(op, lhs, other, flipped);
    });
  }
  return cmpScalar(op, a, b, false);
  function rel2str(o: string, x: string, y: string): boolean { return o === '=' ? x === y : x !== y; }
  function cmpScalar(o: string, x: Val, y: Val, flip: boolean): boolean {
    if (flip) [x, y] = [y, x];
    if (o === '=' || o === '!=') {
      const eq = typeof x === 'boolean' || typeof y === 'boolean' ? toBool(x) === toBool(y)
        : typeof x === 'number' || typeof y === 'number' ? toNum(x) === toNum(y) : toStr(x) === toStr(y);
      return o === '=' ? eq : !eq;
    }
    return rel(toNum(x), toNum(y));
  }
}

const TOKEN = /\s*(?:(\d+(?:\.\d*)?|\.\d+)|('[^']*'|"[^"]*")|(\/\/|\/|\(|\)|\[|\]|!=|<=|>=|=|<|>|\+|-|\*|,|\.\.|\.|@|\|)|([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?))/y;
interface Tok { kind: 'num' | 'str' | 'op' | 'name'; v: string }

function tokenize(q: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < q.length) {
    if (/^\s*$/.test(q.slice(i))) break;
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(q);
    if (!m) throw new LslError('ELSLQUERY', `query: unexpected character at ${i} in "${q}"`);
    i = TOKEN.lastIndex;
    if (m[1] !== undefined) out.push({ kind: 'num', v: m[1] });
    else if (m[2] !== undefined) out.push({ kind: 'str', v: m[2].slice(1, -1) });
    else if (m[3] !== undefined) out.push({ kind: 'op', v: m[3] });
    else out.push({ kind: 'name', v: m[4] });
  }
  return out;
}

const FUNCS: Record<string, (args: Val[], ctx: Node) => Val> = {
  count: (a) => (Array.isArray(a[0]) ? a[0].length : bad('count() needs a node-set')),
  contains: (a) => toStr(a[0]).includes(toStr(a[1])),
  'starts-with': (a) => toStr(a[0]).startsWith(toStr(a[1])),
  'ends-with': (a) => toStr(a[0]).endsWith(toStr(a[1])),
  not: (a) => !toBool(a[0]),
  true: () => true,
  false: () => false,
  string: (a, c) => (a.length ? toStr(a[0]) : stringValue(c)),
  number: (a, c) => (a.length ? toNum(a[0]) : strToNum(stringValue(c))),
  boolean: (a) => toBool(a[0]),
  'string-length': (a, c) => (a.length ? toStr(a[0]) : stringValue(c)).length,
  'normalize-space': (a, c) => (a.length ? toStr(a[0]) : stringValue(c)).trim().replace(/\s+/g, ' '),
  concat: (a) => a.map(toStr).join(''),
  floor: (a) => Math.floor(toNum(a[0])),
  ceiling: (a) => Math.ceil(toNum(a[0])),
  round: (a) => Math.round(toNum(a[0])),
  sum: (a) => (Array.isArray(a[0]) ? a[0].reduce((s, n) => s + strToNum(stringValue(n)), 0) : bad('sum() needs a node-set')),
};
function bad(msg: string): never {
  throw new LslError('ELSLQUERY', `query: ${msg}`);
}

class Parser {
  private i = 0;
  constructor(private readonly toks: Tok[], private readonly src: string) {}
  private peek(): Tok | undefined { return this.toks[this.i]; }
  private isOp(v: string): boolean { const t = this.peek(); return t !== undefined && t.kind === 'op' && t.v === v; }
  private isWord(v: string): boolean { const t = this.peek(); return t !== undefined && t.kind === 'name' && t.v === v; }
  private expect(v: string): void {
    if (!this.isOp(v)) bad(`expected "${v}" at token ${this.i} in "${this.src}"`);
    this.i++;
  }
  parse(): Expr {
    const e = this.or();
    if (this.i < this.toks.length) bad(`unexpected "${this.toks[this.i].v}" in "${this.src}"`);
    return e;
  }
  private or(): Expr {
    let l = this.and();
    while (this.isWord('or')) { this.i++; const a = l, b = this.and(); l = (c) => toBool(a(c)) || toBool(b(c)); }
    return l;
  }
  private and(): Expr {
    let l = this.eq();
    while (this.isWord('and')) { this.i++; const a = l, b = this.eq(); l = (c) => toBool(a(c)) && toBool(b(c)); }
    return l;
  }
  private eq(): Expr {
    let l = this.rel();
    while (this.isOp('=') || this.isOp('!=')) { const op = this.toks[this.i++].v; const a = l, b = this.rel(); l = (c) => compare(op, a(c), b(c)); }
    return l;
  }
  private rel(): Expr {
    let l = this.add();
    while (this.isOp('<') || this.isOp('<=') || this.isOp('>') || this.isOp('>=')) {
      const op = this.toks[this.i++].v; const a = l, b = this.add(); l = (c) => compare(op, a(c), b(c));
    }
    return l;
  }
  private add(): Expr {
    let l = this.mul();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.toks[this.i++].v; const a = l, b = this.mul();
      l = op === '+' ? (c) => toNum(a(c)) + toNum(b(c)) : (c) => toNum(a(c)) - toNum(b(c));
    }
    return l;
  }
  private mul(): Expr {
    let l = this.unary();
    for (;;) {
      // `*` after an operand is multiplication; `div`/`mod` are names in operator position.
      if (this.isOp('*')) { this.i++; const a = l, b = this.unary(); l = (c) => toNum(a(c)) * toNum(b(c)); continue; }
      if (this.isWord('div')) { this.i++; const a = l, b = this.unary(); l = (c) => toNum(a(c)) / toNum(b(c)); continue; }
      if (this.isWord('mod')) { this.i++; const a = l, b = this.unary(); l = (c) => toNum(a(c)) % toNum(b(c)); continue; }
      return l;
    }
  }
  private unary(): Expr {
    if (this.isOp('-')) { this.i++; const a = this.unary(); return (c) => -toNum(a(c)); }
    return this.union();
  }
  private union(): Expr {
    let l = this.primary();
    while (this.isOp('|')) {
      this.i++; const a = l, b = this.primary();
      l = (c) => { const x = a(c), y = b(c); if (!Array.isArray(x) || !Array.isArray(y)) bad('| needs node-sets'); return [...x, ...y]; };
    }
    return l;
  }
  private primary(): Expr {
    const t = this.peek();
    if (!t) bad(`unexpected end of "${this.src}"`);
    if (t.kind === 'num') { this.i++; const v = Number(t.v); return () => v; }
    if (t.kind === 'str') { this.i++; const v = t.v; return () => v; }
    if (this.isOp('(')) { this.i++; const e = this.or(); this.expect(')'); return e; }
    if (t.kind === 'name' && this.toks[this.i + 1]?.kind === 'op' && this.toks[this.i + 1].v === '(') {
      const fn = FUNCS[t.v];
      if (!fn) bad(`unsupported function ${t.v}() in "${this.src}"`);
      this.i += 2;
      const args: Expr[] = [];
      if (!this.isOp(')')) {
        args.push(this.or());
        while (this.isOp(',')) { this.i++; args.push(this.or()); }
      }
      this.expect(')');
      return (c) => fn(args.map((a) => a(c)), c);
    }
    return this.path();
  }
  private path(): Expr {
    type Step = (n: Node) => Node[];
    const steps: Step[] = [];
    let absolute = false;
    if (this.isOp('/') || this.isOp('//')) {
      absolute = true;
      if (this.isOp('//')) { this.i++; steps.push(descendantsOrSelf); }
      else this.i++;
      if (!this.peek() || (this.peek()!.kind !== 'name' && !this.isOp('*') && !this.isOp('@') && !this.isOp('.'))) {
        return (c) => [root(c)];
      }
    }
    steps.push(this.step());
    while (this.isOp('/') || this.isOp('//')) {
      if (this.toks[this.i].v === '//') steps.push(descendantsOrSelf);
      this.i++;
      steps.push(this.step());
    }
    return (c) => {
      let set: Node[] = [absolute ? root(c) : c];
      for (const s of steps) set = set.flatMap(s);
      return set;
    };
  }
  private step(): (n: Node) => Node[] {
    let base: (n: Node) => Node[];
    if (this.isOp('.')) { this.i++; base = (n) => [n]; }
    else if (this.isOp('..')) { this.i++; base = (n) => (n.parent ? [n.parent] : []); }
    else if (this.isOp('@')) {
      this.i++;
      const t = this.peek();
      if (!t || t.kind !== 'name') bad(`expected an attribute name in "${this.src}"`);
      this.i++;
      const nm = t.v;
      base = (n) => (n.el && nm in n.el.attributes ? [{ el: null, parent: n, attr: n.el.attributes[nm] }] : []);
    } else if (this.isOp('*')) { this.i++; base = (n) => (n.el ? n.el.children.map((el) => ({ el, parent: n })) : []); }
    else {
      const t = this.peek();
      if (!t || t.kind !== 'name') bad(`expected a path step at token ${this.i} in "${this.src}"`);
      this.i++;
      const nm = t.v;
      base = (n) => (n.el ? n.el.children.filter((el) => el.name === nm).map((el) => ({ el, parent: n })) : []);
    }
    const preds: Expr[] = [];
    while (this.isOp('[')) { this.i++; preds.push(this.or()); this.expect(']'); }
    if (preds.length === 0) return base;
    return (n) => {
      let set = base(n);
      for (const p of preds) {
        set = set.filter((m, idx) => {
          const v = p(m);
          return typeof v === 'number' ? v === idx + 1 : toBool(v);
        });
      }
      return set;
    };
  }
}

function root(n: Node): Node {
  let r = n;
  while (r.parent) r = r.parent;
  return r;
}
function descendantsOrSelf(n: Node): Node[] {
  const out: Node[] = [n];
  const walk = (m: Node): void => {
    if (!m.el) return;
    for (const el of m.el.children) { const c = { el, parent: m }; out.push(c); walk(c); }
  };
  walk(n);
  return out;
}

export type InfoPredicate = (info: XmlElement) => boolean;

/** Compiles a query; the empty query matches everything. */
export function compileQuery(query: string): InfoPredicate {
  if (query.trim() === '') return () => true;
  const expr = new Parser(tokenize(query), query).parse();
  return (info) => {
    // The context node is <info>; its parent is a document node so that `/info/name` works.
    const doc: Node = { el: { name: '#document', attributes: {}, children: [info], text: '' }, parent: null };
    return toBool(expr({ el: info, parent: doc }));
  };
}

/** Matches like liblsl's outlet: a query that fails to parse is no match. Caches compiled queries (liblsl keeps 100). */
export class QueryCache {
  private readonly cache = new Map<string, InfoPredicate | null>();
  constructor(private readonly max = 100) {}
  matches(query: string, info: XmlElement): boolean {
    let p = this.cache.get(query);
    if (p === undefined) {
      try { p = compileQuery(query); } catch { p = null; }
      if (this.cache.size >= this.max) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(query, p);
    }
    if (p === null) return false;
    try { return p(info); } catch { return false; }
  }
}

/** XPath string literal for a value (liblsl quotes with '). */
export function xpathLiteral(v: string): string {
  if (!v.includes("'")) return `'${v}'`;
  if (!v.includes('"')) return `"${v}"`;
  return `concat(${v.split("'").map((p) => `'${p}'`).join(`, "'", `)})`;
}
