import { openWarehouse } from '../src/engine/open.js';
import { createApiKey } from '../src/govern/api-keys.js';
import { buildServer } from '../src/server/app.js';

/**
 * The server under test for `npm run bench -- decide`, in its own process so the load generator does not share its
 * event loop. Prints {url, key} once it listens; SIGTERM closes it.
 *
 * Usage: node --import tsx bench/decide-server.ts DB_PATH PLAYBOOK
 */
const [dbPath, playbook] = process.argv.slice(2);
if (!dbPath || !playbook) {
  process.stderr.write('usage: decide-server.ts DB_PATH PLAYBOOK\n');
  process.exit(2);
}
const wh = await openWarehouse({ path: dbPath });
const { key } = await createApiKey(wh, 'read');
const server = await buildServer({ warehouse: wh, playbook });
const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ url, key })}\n`);
process.on('SIGTERM', () => {
  void server.app
    .close()
    .then(() => wh.close())
    .then(() => process.exit(0));
});
