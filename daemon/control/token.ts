/**
 * The bearer token: read once from `--control-token-file` (first line, trimmed), compared in
 * constant time. Both sides are hashed first so that the comparison takes the same time whatever
 * the length of the guess (timingSafeEqual needs equal lengths and would otherwise leak it).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { ControlConfigError } from './errors.js';

/** Shortest token accepted: a guessable token is no protection on a lab network. */
export const MIN_TOKEN_LENGTH = 16;

export function readTokenFile(path: string): string {
  let text: string;
  try {
    if (!statSync(path).isFile()) throw new Error('not a regular file');
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ControlConfigError('ECONTROLTOKEN', `--control-token-file ${path}: ${(err as Error).message}`);
  }
  const token = text.split(/\r?\n/)[0].trim();
  if (token.length < MIN_TOKEN_LENGTH)
    throw new ControlConfigError('ECONTROLTOKEN', `--control-token-file ${path}: the token must be at least ${MIN_TOKEN_LENGTH} characters on the first line (got ${token.length})`);
  return token;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** A checker for `Authorization` header values; keeps only the token's digest. */
export function bearerChecker(token: string): (authorization: string | undefined) => 'ok' | 'missing' | 'wrong' {
  const want = digest(token);
  return (authorization) => {
    if (authorization === undefined) return 'missing';
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (!m) return 'missing';
    return timingSafeEqual(digest(m[1]), want) ? 'ok' : 'wrong';
  };
}
