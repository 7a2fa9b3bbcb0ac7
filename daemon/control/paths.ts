/**
 * Confining the paths a client names (models to load, recordings to write) to one directory.
 * The check is on real paths: `..` segments, absolute paths elsewhere and symbolic links that
 * lead out of the directory are all refused. A file to be created does not exist yet, so its
 * parent directory is resolved instead, and the name must be a plain file name.
 */
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ControlConfigError, ControlError } from './errors.js';

/** Resolves a configured root directory once, at start-up. */
export function resolveRoot(dir: string, option: string): string {
  try {
    const real = realpathSync(dir);
    if (!statSync(real).isDirectory()) throw new Error('not a directory');
    return real;
  } catch (err) {
    throw new ControlConfigError('ECONTROLDIR', `${option} ${dir}: ${(err as Error).message}`);
  }
}

function inside(root: string, real: string): boolean {
  const rel = relative(root, real);
  return rel === '' ? false : !rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel);
}

function refuse(requested: string, root: string, why: string): ControlError {
  return new ControlError(403, 'EPATH', `path "${requested}" ${why} (allowed: files under ${root})`);
}

/** An existing regular file under root (relative paths are taken from root). */
export function existingFileUnder(root: string, requested: unknown): string {
  if (typeof requested !== 'string' || requested === '') throw new ControlError(400, 'EBADREQUEST', '"path" must be a non-empty string');
  if (requested.includes('\0')) throw refuse('(with NUL)', root, 'is not a valid path');
  const abs = resolve(root, requested);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch {
    // Do not say whether something exists outside the root.
    if (!inside(root, abs)) throw refuse(requested, root, 'is outside the allowed directory');
    throw new ControlError(404, 'EPATH', `path "${requested}" does not exist under ${root}`);
  }
  if (!inside(root, real)) throw refuse(requested, root, 'is outside the allowed directory');
  if (!statSync(real).isFile()) throw new ControlError(400, 'EPATH', `path "${requested}" is not a regular file`);
  return real;
}

/** A new file under root: the parent must exist under root, the file must not exist yet. */
export function newFileUnder(root: string, requested: unknown): string {
  if (typeof requested !== 'string' || requested === '') throw new ControlError(400, 'EBADREQUEST', '"start" must be a non-empty path string');
  if (requested.includes('\0')) throw refuse('(with NUL)', root, 'is not a valid path');
  const abs = resolve(root, requested);
  const name = basename(abs);
  if (name === '' || name === '.' || name === '..') throw refuse(requested, root, 'does not name a file');
  let parent: string;
  try {
    parent = realpathSync(dirname(abs));
  } catch {
    if (!inside(root, abs)) throw refuse(requested, root, 'is outside the allowed directory');
    throw new ControlError(404, 'EPATH', `the directory of "${requested}" does not exist under ${root}`);
  }
  const real = join(parent, name);
  if (parent !== root && !inside(root, parent)) throw refuse(requested, root, 'is outside the allowed directory');
  // lstat, not stat: a dangling symbolic link would be followed on open, so any entry is refused.
  if (lstatSync(real, { throwIfNoEntry: false }) !== undefined) throw new ControlError(409, 'EPATH', `"${requested}" already exists; recordings are never overwritten`);
  return real;
}
