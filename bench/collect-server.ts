import { openWarehouse } from '../src/engine/open.js';
import { createApiKey } from '../src/govern/api-keys.js';
import { buildServer } from '../src/server/app.js';

/**
 * The server under test for `npm run bench -- collect`, run as its own process so the load generator does not share
 * its event loop. `store` is `segflow serve` as shipped (intake log next to the database file, loaded into the
 * warehouse behind the acknowledgements); `nostore` is the same server whose commits store nothing and write no log —
 * the HTTP limit (routing, auth, body reading, JSON parsing and preparing, group commit bookkeeping). Prints {url, key} once it
 * listens; SIGTERM drains the queue and exits.
 *
 * Usage: node --import tsx bench/collect-server.ts store|nostore DB_PATH
 */
const [mode, dbPath] = process.argv.slice(2);
if ((mode !== 'store' && mode !== 'nostore') || !dbPath) {
  process.stderr.write('usage: collect-server.ts store|nostore DB_PATH\n');
  process.exit(2);
}
const wh = await openWarehouse({ path: dbPath });
const { key } = await createApiKey(wh, 'write');
const server = await buildServer({
  warehouse: wh,
  groupCommit:
    mode === 'nostore'
      ? {
          intakeLog: false,
          ingest: async (_tx, messages) => ({
            received: messages.length,
            inserted: messages.length,
            duplicates: 0,
            rejected: 0,
          }),
        }
      : {},
});
const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ url, key })}\n`);
process.on('SIGTERM', () => {
  void server.app
    .close()
    .then(() => wh.close())
    .then(() => process.exit(0));
});
