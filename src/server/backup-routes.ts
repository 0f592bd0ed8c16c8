import { z } from 'zod';
import { loadConfig } from '../config/config.js';
import { BackupResultSchema, backupDatabase, RestoreResultSchema, restoreBackup } from '../govern/backup.js';
import { confinedFile, dataRootOf } from '../govern/confined-path.js';
import { defineRoute, jsonDates } from './admin-routes.js';
import type { GroupCommitter } from './group-commit.js';

const FileName = z
  .string()
  .min(1)
  .max(1000)
  .describe('a file name relative to the data root (absolute paths, `..` and symlinks out are refused)');

/**
 * Backup and restore over the admin API (docs/govern.md#backup-and-restore); files stay under the data root. A backup
 * first loads what the collector acknowledged before it started (`committer`: the server's write queue).
 */
export const backupRoutes = (o: { committer?: GroupCommitter } = {}) => [
  defineRoute({
    method: 'POST',
    path: '/api/v1/backups',
    permission: 'admin',
    tag: 'govern',
    summary: 'Back the database up into a new file while the server runs',
    description:
      'A consistent snapshot of every table of the database, written into a new file under the data root. Every ' +
      'event acknowledged before the call is in it: what waits in the intake log is loaded first; events ' +
      'acknowledged while the backup runs may be in it or not (`intakeLogPosition` says how far the log it holds goes).',
    body: z.object({ file: FileName }),
    response: BackupResultSchema,
    status: 201,
    handler: async ({ body }, { wh }) => {
      const path = confinedFile(dataRootOf(wh, loadConfig().dataRoot), body.file);
      const committer = o.committer;
      const r = await backupDatabase(wh, path, committer ? { settled: () => committer.settled() } : {});
      return jsonDates({ ...r, file: body.file }) as z.input<typeof BackupResultSchema>;
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/backups/restore',
    permission: 'admin',
    tag: 'govern',
    summary: 'Restore a backup into a new file, with the tombstones of the running database applied',
    description:
      'Checks the backup’s schema version (older: migrated; newer: refused), copies it into a new file under the data ' +
      'root, and deletes again everyone deleted from the running database since the backup was made. The server ' +
      'keeps serving its own database: point a server at the new file to use it.',
    body: z.object({ backup: FileName, to: FileName }),
    response: RestoreResultSchema,
    status: 201,
    handler: async ({ body }, { wh }) => {
      const root = dataRootOf(wh, loadConfig().dataRoot);
      const r = await restoreBackup({
        backup: confinedFile(root, body.backup),
        to: confinedFile(root, body.to),
        current: wh,
      });
      return jsonDates({ ...r, file: body.to, backup: body.backup }) as z.input<typeof RestoreResultSchema>;
    },
  }),
];
