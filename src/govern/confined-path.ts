import { existsSync, lstatSync, mkdirSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { Warehouse } from '../engine/warehouse.js';
import { SegflowError } from '../errors.js';

/**
 * Files the server writes on a request (audience exports, backups) go under one data root. A request names a place
 * under it by a relative path; anything that could leave the root — an absolute path, a `..` step, a symlink that
 * points outside, a name longer than file systems take — is refused before anything is created. The CLI, run by the
 * machine's own user, is not confined: it writes where that user asks.
 */

/** Longest name of one path component in bytes (ext4, APFS, NTFS all stop at 255). */
const MAX_NAME_BYTES = 255;
/** Longest relative path a request may name. */
const MAX_PATH_BYTES = 1024;

/**
 * The data root: `dataRoot` from the configuration if set, else the folder holding the database file (the working
 * directory for an in-memory database).
 */
export function dataRootOf(wh: Pick<Warehouse, 'location'>, configured?: string): string {
  if (configured) return resolve(configured);
  if (wh.location === ':memory:' || wh.location === '') return resolve('.');
  return dirname(resolve(wh.location));
}

function refuse(requested: string, why: string): never {
  throw new SegflowError(
    'PATH_NOT_ALLOWED',
    `'${requested.slice(0, 200)}' is not allowed: ${why}`,
    'name a folder relative to the data root, without `..` (e.g. "audiences" or "exports/weekly")',
  );
}

/** True when `path` is `root` or inside it (both absolute, normalised). */
function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * The absolute folder under `root` that `requested` names, created if missing. Refuses (PATH_NOT_ALLOWED, HTTP 400)
 * absolute paths, `..`, over-long names and any existing component that resolves outside the root through a symlink.
 */
export function confinedDir(root: string, requested: string): string {
  if (requested.includes('\0')) refuse(requested, 'it contains a NUL character');
  if (isAbsolute(requested) || /^[a-zA-Z]:/.test(requested) || requested.startsWith('\\')) {
    refuse(requested, 'absolute paths are refused; paths are relative to the data root');
  }
  if (Buffer.byteLength(requested) > MAX_PATH_BYTES) {
    refuse(requested, `the path is longer than ${MAX_PATH_BYTES} bytes`);
  }
  const parts = requested.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
  for (const part of parts) {
    if (part === '..') refuse(requested, '`..` steps out of the data root');
    if (Buffer.byteLength(part) > MAX_NAME_BYTES) {
      refuse(requested, `a name in it is longer than ${MAX_NAME_BYTES} bytes`);
    }
  }
  mkdirSync(root, { recursive: true });
  const realRoot = realpathSync(root);
  // Walk down one component at a time: an existing component must resolve (through any symlink) inside the root.
  let at = realRoot;
  for (const part of parts) {
    const next = join(at, part);
    if (existsSync(next) || isDanglingLink(next)) {
      let real: string;
      try {
        real = realpathSync(next);
      } catch {
        refuse(requested, `'${part}' is a symlink that points nowhere`);
      }
      if (!inside(realRoot, real))
        refuse(requested, `'${part}' is a symlink that points outside the data root`);
      if (!lstatSync(real).isDirectory()) refuse(requested, `'${part}' exists and is not a folder`);
      at = real;
    } else {
      mkdirSync(next);
      at = next;
    }
  }
  return at;
}

function isDanglingLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** `confinedDir` for a file: the folder part is confined and created, the name is checked; returns the full path. */
export function confinedFile(root: string, requested: string): string {
  if (isAbsolute(requested))
    refuse(requested, 'absolute paths are refused; paths are relative to the data root');
  const parts = requested.split(/[\\/]+/);
  const name = parts.pop() ?? '';
  if (name === '' || name === '.' || name === '..') refuse(requested, 'it does not end in a file name');
  const dir = confinedDir(root, parts.join('/') || '.');
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) {
    refuse(requested, `the file name is longer than ${MAX_NAME_BYTES} bytes`);
  }
  const path = join(dir, name);
  if (isDanglingLink(path)) refuse(requested, `'${name}' is a symlink; name a new file or a plain one`);
  return path;
}
