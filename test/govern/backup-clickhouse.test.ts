import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { backupDatabase, restoreBackup } from '../../src/govern/backup.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { segflow } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

/**
 * segflow's backups are DuckDB files. On ClickHouse `segflow backup` and `segflow restore` (and their API routes,
 * which call the same functions) stop before writing anything and say how to back ClickHouse up instead — rather
 * than fail deep inside with DuckDB's SQL, or restore a DuckDB file nobody uses.
 */

const ENV = { SEGFLOW_ENGINE: 'clickhouse' };

interface CliError {
  error: { code: string; message: string; hint: string };
}

test('segflow backup and restore on a chdb folder say what to do instead, and write nothing', {
  timeout: 120_000,
}, async () => {
  const dir = tempDir('segflow-ch-backup-');
  const folder = join(dir, 'segflow.clickhouse');
  const wh = await openWarehouse({ clickhouse: { folder, database: 'segflow' } });
  try {
    await ingestMessages(
      wh,
      [{ type: 'track', event: 'Signed Up', userId: 'u1', timestamp: '2026-05-01T00:00:00Z' }],
      { source: 'test' },
    );
    // The library (what POST /api/v1/backups and /backups/restore call on a server over ClickHouse).
    await assert.rejects(backupDatabase(wh, join(dir, 'lib.duckdb')), (e: CliError['error']) => {
      assert.equal(e.code, 'USAGE');
      assert.match(e.message, /does not back up ClickHouse/);
      assert.match(e.hint, /BACKUP DATABASE/);
      assert.match(e.hint, /copy its folder/);
      return true;
    });
    writeFileSync(join(dir, 'old.duckdb'), 'not read');
    await assert.rejects(
      restoreBackup({ backup: join(dir, 'old.duckdb'), to: join(dir, 'lib-restored.duckdb'), current: wh }),
      /does not restore ClickHouse/,
    );
  } finally {
    await wh.close();
  }

  const backup = segflow(['backup', 'b.duckdb', '--json'], { cwd: dir, env: ENV });
  assert.notEqual(backup.status, 0);
  const backupError = (JSON.parse(backup.stdout) as CliError).error;
  assert.equal(backupError.code, 'USAGE');
  assert.match(backupError.message, /does not back up ClickHouse \(.*segflow\.clickhouse\)/);
  assert.match(backupError.hint, /stop `segflow serve` and copy its folder/);

  // Restore with ClickHouse selected is refused before anything is opened: no chdb folder is made where none is.
  const elsewhere = tempDir('segflow-ch-restore-');
  const restore = segflow(['restore', join(dir, 'old.duckdb'), '--to', 'r.duckdb', '--json'], {
    cwd: elsewhere,
    env: ENV,
  });
  assert.notEqual(restore.status, 0);
  const restoreError = (JSON.parse(restore.stdout) as CliError).error;
  assert.equal(restoreError.code, 'USAGE');
  assert.match(restoreError.message, /does not restore ClickHouse/);
  assert.match(restoreError.hint, /RESTORE DATABASE/);
  for (const made of [
    join(dir, 'b.duckdb'),
    join(dir, 'b.duckdb.partial'),
    join(dir, 'lib.duckdb'),
    join(dir, 'lib-restored.duckdb'),
    join(elsewhere, 'r.duckdb'),
    join(elsewhere, 'segflow.clickhouse'),
  ]) {
    assert.equal(existsSync(made), false, `${made} was not written`);
  }
});
