import type { ClickHouseConfig } from '../engine/clickhouse/clickhouse-config.js';
import { openWarehouse } from '../engine/open.js';
import { createApiKey } from '../govern/api-keys.js';
import { startServer } from '../server/app.js';

const say = (line = '') => process.stdout.write(`${line}\n`);

/**
 * Whether the demo may keep a server open: only for a person at a terminal. CI (CI=true) and piped runs exit as before.
 */
export function interactiveTerminal(): boolean {
  const ci = process.env.CI;
  const inCi = ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
  return !inCi && Boolean(process.stdout.isTTY) && Boolean(process.stdin.isTTY);
}

/**
 * The end of `npm start` at a terminal: the dashboard over the demo's database on 127.0.0.1, with a one-time sign-in
 * link (as notebook servers print one) for a fresh admin key, until Ctrl-C.
 */
export async function keepDashboardOpen(options: {
  dbPath: string;
  clickhouse?: ClickHouseConfig;
  segmentsDir?: string;
  playbook?: string;
}): Promise<void> {
  const wh = await openWarehouse({ path: options.dbPath, clickhouse: options.clickhouse });
  let key: string;
  try {
    key = (await createApiKey(wh, 'admin', { name: 'npm start (demo dashboard)' })).key;
  } finally {
    await wh.close();
  }
  const open = (port: number) =>
    startServer({
      dbPath: options.dbPath,
      ...(options.clickhouse ? { clickhouse: options.clickhouse } : {}),
      host: '127.0.0.1',
      port,
      ...(options.playbook ? { playbook: options.playbook } : {}),
      ...(options.segmentsDir ? { segmentsDir: options.segmentsDir } : {}),
    });
  // The usual port if it is free, else any free one.
  const server = await open(8787).catch(() => open(0));
  const token = server.sessions.signInLink(key);
  say('\nThe dashboard is open (Ctrl-C to stop):');
  say(`   ${server.url}/dashboard/sign-in?token=${token}`);
  say('   (the link signs you in once, as an admin; the key behind it is in `segflow keys list`)');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  say('\nStopping…');
  await server.close();
}
