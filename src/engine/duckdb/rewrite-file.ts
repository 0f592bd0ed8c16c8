import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { SegflowError } from '../../errors.js';
import { duckdb } from './node-api.js';

/**
 * Rewrite a DuckDB database into a new file and swap it in, so that nothing deleted survives in its bytes: DuckDB
 * marks deleted rows and freed blocks as free but does not overwrite them, so a deleted person's values can still be
 * read in the file until those blocks are reused. `COPY FROM DATABASE` writes only live rows (schema, constraints,
 * indexes and views included) into a fresh file; the swap is a rename, so a crash leaves either the old or the new
 * file whole. The old file is then overwritten with zeros before it is removed (on copy-on-write file systems and
 * SSDs the device may still keep old blocks: full-disk encryption is the answer there). The database must not be
 * open anywhere (the caller holds it closed). Cost: one read and one write of the live data.
 */
export async function rewriteDuckDBFile(path: string): Promise<{ bytesBefore: number; bytesAfter: number }> {
  const fresh = `${path}.rewrite`;
  const retired = `${path}.retired`;
  for (const leftover of [fresh, `${fresh}.wal`, retired]) rmSync(leftover, { force: true });
  const bytesBefore = statSync(path).size + (existsSync(`${path}.wal`) ? statSync(`${path}.wal`).size : 0);
  const instance = await duckdb.DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const conn = await instance.connect();
  const quote = (p: string) => `'${p.replaceAll("'", "''")}'`;
  try {
    // Attaching read-write replays and checkpoints any WAL first; read-only would leave it to the copy.
    await conn.run(`ATTACH ${quote(path)} AS sf_old`);
    await conn.run('CHECKPOINT sf_old');
    await conn.run(`ATTACH ${quote(fresh)} AS sf_new`);
    await conn.run('COPY FROM DATABASE sf_old TO sf_new');
    await conn.run('CHECKPOINT sf_new');
    await conn.run('DETACH sf_new');
    await conn.run('DETACH sf_old');
  } catch (e) {
    rmSync(fresh, { force: true });
    rmSync(`${fresh}.wal`, { force: true });
    throw new SegflowError(
      'STORAGE_FAILED',
      `could not rewrite ${path}: ${(e as Error).message.split('\n')[0]}`,
      'stop `segflow serve` (and anything else using the database) and try again; the database is unchanged',
      { cause: e },
    );
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
  syncFile(fresh);
  // Keep a second name for the old file so it can be zeroed after the swap; the swap itself is atomic.
  linkSync(path, retired);
  renameSync(fresh, path);
  rmSync(`${path}.wal`, { force: true });
  syncFile(dirname(path));
  zeroAndRemove(retired);
  return { bytesBefore, bytesAfter: statSync(path).size };
}

function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Overwrite a file with zeros, flush, and remove it. */
export function zeroAndRemove(path: string): void {
  if (!existsSync(path)) return;
  const size = statSync(path).size;
  const fd = openSync(path, 'r+');
  try {
    const zeros = Buffer.alloc(Math.min(size, 1 << 20));
    for (let at = 0; at < size; at += zeros.length)
      writeSync(fd, zeros, 0, Math.min(zeros.length, size - at), at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  rmSync(path, { force: true });
}
