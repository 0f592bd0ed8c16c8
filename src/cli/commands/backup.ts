import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { fromWorkingDir } from '../../config/working-dir.js';
import { DEFAULT_CHDB_FOLDER } from '../../engine/clickhouse/clickhouse-config.js';
import { backupDatabase, restoreBackup, restoreRefusedOnClickHouse } from '../../govern/backup.js';
import { withWarehouse } from '../context.js';
import { resolveClickHouse, resolveDbPath } from '../database-location.js';
import { currentInvocation } from '../invocation.js';
import { emit } from '../output.js';

/** `segflow backup FILE` and `segflow restore BACKUP --to FILE` (docs/govern.md#backup-and-restore). */
export function registerBackup(program: Command): void {
  program
    .command('backup')
    .description('a consistent copy of the database in a new file, also while `segflow serve` runs')
    .argument('<file>', 'the backup file to write (must not exist)')
    .option('--json', 'print as one JSON document')
    .action(async (file: string, flags: { json?: boolean }, cmd: Command) => {
      // Through a running server: what its collector acknowledged before the backup started is loaded first.
      const settled = currentInvocation()?.settled;
      const r = await withWarehouse(cmd.optsWithGlobals(), (wh) =>
        backupDatabase(wh, fromWorkingDir(file), settled ? { settled } : {}),
      );
      emit(Boolean(flags.json), { ...r, file }, () =>
        [
          `backup written: ${file} (${r.bytes.toLocaleString('en-US')} bytes, schema version ${r.schemaVersion})`,
          `  events ${r.events.toLocaleString('en-US')}: every event acknowledged before ${r.startedAt.toISOString()}`,
          ...(r.intakeLogPosition
            ? [`  the collector's intake log up to ${r.intakeLogPosition} (segment:byte) is in it`]
            : []),
        ].join('\n'),
      );
    });
  program
    .command('restore')
    .description(
      'bring a backup back into a new file: schema version checked, people deleted since the backup deleted again',
    )
    .argument('<backup>', 'a file `segflow backup` wrote')
    .requiredOption('--to <file>', 'the new database file (must not exist)')
    .option('--json', 'print as one JSON document')
    .action(async (backup: string, flags: { to: string; json?: boolean }, cmd: Command) => {
      const globals = cmd.optsWithGlobals();
      // With ClickHouse selected there is no DuckDB file to restore for: refused before anything is opened or made.
      const clickhouse = currentInvocation() === undefined ? resolveClickHouse(globals) : undefined;
      if (clickhouse)
        throw restoreRefusedOnClickHouse(clickhouse.url ?? clickhouse.folder ?? DEFAULT_CHDB_FOLDER);
      const paths = { backup: fromWorkingDir(backup), to: fromWorkingDir(flags.to) };
      // The current database holds the tombstones of people deleted since the backup; without one there are none.
      const current = currentInvocation() !== undefined || existsSync(resolveDbPath(globals));
      const r = current
        ? await withWarehouse(globals, (wh) => restoreBackup({ ...paths, current: wh }))
        : await restoreBackup(paths);
      emit(Boolean(flags.json), { ...r, file: flags.to, backup }, () =>
        [
          `restored ${backup} into ${flags.to} (schema version ${r.backupSchemaVersion}${r.backupSchemaVersion === r.schemaVersion ? '' : ` → ${r.schemaVersion}`}; ${r.events.toLocaleString('en-US')} events)`,
          r.tombstones === null
            ? `  no current database at ${resolveDbPath(globals)}: no tombstones applied (people deleted since the backup are back)`
            : `  tombstones applied: ${r.tombstones}; people deleted since the backup, deleted again: ${r.peopleDeletedAgain}`,
          `  use it: --db ${flags.to} (or db: in segflow.config.yaml)`,
        ].join('\n'),
      );
    });
}
