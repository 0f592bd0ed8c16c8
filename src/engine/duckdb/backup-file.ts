import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { SegflowError } from '../../errors.js';
import type { Warehouse } from '../warehouse.js';
import { duckdb } from './node-api.js';

const quote = (p: string) => `'${p.replaceAll("'", "''")}'`;

/**
 * A consistent copy of an open DuckDB database into a new file, while it stays in use: `COPY FROM DATABASE` inside one
 * transaction reads one snapshot of every table (what was committed when it began) and writes only live rows, so the
 * copy holds no freed blocks of deleted data either. The copy is written under a temporary name, checkpointed,
 * flushed and renamed, so a crash never leaves a half backup under the name asked for. Other statements on the
 * connection wait while it runs (the collector keeps acknowledging into its intake log).
 */
export async function backupDuckDB(wh: Warehouse, target: string): Promise<{ bytes: number }> {
  if (existsSync(target)) {
    throw new SegflowError(
      'BACKUP_INVALID',
      `${target} exists; a backup goes into a new file`,
      'name a file that does not exist yet',
    );
  }
  const partial = `${target}.partial`;
  for (const leftover of [partial, `${partial}.wal`]) rmSync(leftover, { force: true });
  const [{ name } = { name: '' }] = await wh.query<{ name: string }>('SELECT current_database() AS name');
  await wh.run(`ATTACH ${quote(partial)} AS sf_backup`);
  try {
    await wh.transaction((tx) => tx.run(`COPY FROM DATABASE "${name.replaceAll('"', '""')}" TO sf_backup`));
    await wh.run('CHECKPOINT sf_backup');
  } catch (e) {
    await wh.run('DETACH sf_backup').catch(() => undefined);
    rmSync(partial, { force: true });
    rmSync(`${partial}.wal`, { force: true });
    throw e;
  }
  await wh.run('DETACH sf_backup');
  const fd = openSync(partial, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(partial, target);
  return { bytes: statSync(target).size };
}

/**
 * The schema version a database file was written at, read without changing it (attached read-only in a throwaway
 * engine); null when the file is not a segflow database.
 */
export async function duckDBFileSchemaVersion(path: string): Promise<number | null> {
  const instance = await duckdb.DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const conn = await instance.connect();
  try {
    try {
      await conn.run(`ATTACH ${quote(path)} AS sf_file (READ_ONLY)`);
    } catch {
      return null;
    }
    try {
      const reader = await conn.runAndReadAll(
        `SELECT value FROM sf_file.segflow_meta WHERE key = 'schema_version'`,
      );
      const value = reader.getRowsJS()[0]?.[0];
      return value === undefined ? null : Number(value);
    } catch {
      return null;
    } finally {
      await conn.run('DETACH sf_file').catch(() => undefined);
    }
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
