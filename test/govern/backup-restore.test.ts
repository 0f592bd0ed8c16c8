import assert from 'node:assert/strict';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { LATEST_SCHEMA_VERSION } from '../../src/engine/schema.js';
import { createApiKey } from '../../src/govern/api-keys.js';
import { segflowAsync } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { basicAuth, type ServeProcess, spawnServe } from '../server/helpers.js';

/**
 * Backup while events arrive, and restore: with a real `segflow serve` (its intake log on, the default) taking ~1,000
 * events/s over HTTP, `segflow backup` (run through the server) copies the database; every event acknowledged before
 * the backup started is in the copy, and the backup says how far the intake log it holds goes. A person deleted after
 * the backup is deleted again when the backup is restored into a new file.
 */

const dir = tempDir('segflow-backup-');
const db = join(dir, 'live.duckdb');
let server: ServeProcess;
let keys: { write: string; admin: string };

before(async () => {
  const wh = await openWarehouse({ path: db });
  keys = { write: (await createApiKey(wh, 'write')).key, admin: (await createApiKey(wh, 'admin')).key };
  await wh.close();
  server = await spawnServe(db);
});

after(async () => {
  server.child.kill('SIGTERM');
  await server.exited;
});

async function send(batch: object[]): Promise<void> {
  const r = await fetch(`${server.url}/v1/batch`, {
    method: 'POST',
    headers: { authorization: basicAuth(keys.write), 'content-type': 'application/json' },
    body: JSON.stringify({ batch }),
  });
  assert.equal(r.status, 200, await r.text());
}

/** ~1,000 events/s: a batch of 50 every 50 ms, each batch's message ids recorded with the time it was acknowledged. */
function loadGenerator(): { acked: Map<string, number>; stop(): Promise<void> } {
  const acked = new Map<string, number>();
  const inFlight = new Set<Promise<void>>();
  let n = 0;
  const timer = setInterval(() => {
    const batch = Array.from({ length: 50 }, () => {
      n++;
      return {
        type: 'track',
        event: 'Page Viewed',
        userId: `load-${n % 500}`,
        messageId: `load-msg-${n}`,
        timestamp: new Date().toISOString(),
      };
    });
    const p = send(batch).then(() => {
      const at = Date.now();
      for (const m of batch) acked.set(m.messageId, at);
    });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }, 50);
  return {
    acked,
    async stop() {
      clearInterval(timer);
      await Promise.all(inFlight);
    },
  };
}

async function messageIds(path: string): Promise<Set<string>> {
  const wh = await openWarehouse({ path, readOnly: true });
  try {
    return new Set((await wh.query<{ id: string }>('SELECT message_id AS id FROM events')).map((r) => r.id));
  } finally {
    await wh.close();
  }
}

async function personRows(path: string, userId: string): Promise<number> {
  const wh = await openWarehouse({ path, readOnly: true });
  try {
    const [r] = await wh.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM events WHERE user_id = ?) + (SELECT count(*) FROM identities WHERE identifier = ?)
        + (SELECT count(*) FROM identity_traits WHERE identifier = ?) AS n`,
      [userId, userId, userId],
    );
    return Number(r!.n);
  } finally {
    await wh.close();
  }
}

test('a backup under load holds every event acknowledged before it started; a restore deletes again who was deleted since', async () => {
  await send([
    { type: 'identify', userId: 'leaving-user', traits: { email: 'leaving@example.test', name: 'Leaving' } },
    ...Array.from({ length: 5 }, (_, i) => ({
      type: 'track',
      userId: 'leaving-user',
      event: 'Order Completed',
      messageId: `leaving-order-${i}`,
      properties: { revenue: 10 + i },
    })),
  ]);
  const load = loadGenerator();
  await new Promise((r) => setTimeout(r, 2_000));
  const startedAt = Date.now();
  const ackedBefore = [...load.acked.keys()];
  const backup = await segflowAsync(['--db', db, 'backup', 'backup.duckdb', '--json'], { cwd: dir });
  const finishedAt = Date.now();
  assert.equal(backup.status, 0, backup.stderr);
  const cliResult = JSON.parse(backup.stdout) as { startedAt: string; intakeLogPosition: string | null };
  assert.match(
    String(cliResult.intakeLogPosition),
    /^\d+:\d+$/,
    'the backup holds the intake log up to a position',
  );
  // The same through the admin API, which starts within milliseconds: events acknowledged just before it may still
  // wait in the intake log, and must be in the backup too.
  await new Promise((r) => setTimeout(r, 500));
  const apiStartedAt = Date.now();
  const ackedBeforeApi = [...load.acked.keys()];
  const api = await fetch(`${server.url}/api/v1/backups`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ file: 'api-under-load.duckdb' }),
  });
  assert.equal(api.status, 201, await api.clone().text());
  const apiResult = (await api.json()) as { startedAt: string; intakeLogPosition: string | null };
  await new Promise((r) => setTimeout(r, 1_000));
  await load.stop();
  const inApiBackup = await messageIds(join(dir, 'api-under-load.duckdb'));
  assert.deepEqual(
    ackedBeforeApi.filter((id) => !inApiBackup.has(id)),
    [],
    'acknowledged before the API backup started, missing from it',
  );
  // What each backup reports as its start holds too: this process saw each 200 after the server sent it.
  const ackedBeforeReported = (result: { startedAt: string }) =>
    [...load.acked].filter(([, at]) => at < Date.parse(result.startedAt)).map(([id]) => id);
  assert.deepEqual(
    ackedBeforeReported(apiResult).filter((id) => !inApiBackup.has(id)),
    [],
    'acknowledged before the API backup’s startedAt, missing from it',
  );
  assert.match(String(apiResult.intakeLogPosition), /^\d+:\d+$/);
  assert.ok(
    [...load.acked.values()].some((at) => at > apiStartedAt),
    'events kept arriving after the API backup started',
  );
  const during = [...load.acked.values()].filter((at) => at > startedAt && at < finishedAt).length;
  assert.ok(during > 0, 'events were acknowledged while the backup ran');
  assert.ok(ackedBefore.length > 0);

  const backedUp = await messageIds(join(dir, 'backup.duckdb'));
  const lost = ackedBefore.filter((id) => !backedUp.has(id));
  assert.deepEqual(lost, [], 'acknowledged before the backup started, missing from it');
  assert.deepEqual(
    ackedBeforeReported(cliResult).filter((id) => !backedUp.has(id)),
    [],
    'acknowledged before the backup’s startedAt, missing from it',
  );
  assert.ok(await personRows(join(dir, 'backup.duckdb'), 'leaving-user'), 'the backup holds the person');
  assert.equal(JSON.parse(backup.stdout).events, backedUp.size);

  // After the backup, the person asks to be deleted (by email, as requests arrive).
  const deleted = await segflowAsync(['--db', db, 'privacy', 'delete', 'leaving@example.test', '--json'], {
    cwd: dir,
  });
  assert.equal(deleted.status, 0, deleted.stderr);
  assert.equal(JSON.parse(deleted.stdout).persons, 1);

  const restored = await segflowAsync(
    ['--db', db, 'restore', 'backup.duckdb', '--to', 'restored.duckdb', '--json'],
    {
      cwd: dir,
    },
  );
  assert.equal(restored.status, 0, restored.stderr);
  const summary = JSON.parse(restored.stdout) as { peopleDeletedAgain: number; schemaVersion: number };
  assert.equal(summary.peopleDeletedAgain, 1);
  assert.equal(summary.schemaVersion, LATEST_SCHEMA_VERSION);

  const back = join(dir, 'restored.duckdb');
  assert.equal(await personRows(back, 'leaving-user'), 0, 'deleted again on restore');
  const inRestored = await messageIds(back);
  const missing = ackedBefore.filter((id) => !inRestored.has(id));
  assert.deepEqual(missing, [], 'every other event of the backup is restored');
  for (let i = 0; i < 5; i++) assert.equal(inRestored.has(`leaving-order-${i}`), false);
  // The restored file keeps the tombstones: the person's late events are dropped there too.
  const wh = await openWarehouse({ path: back, readOnly: true });
  try {
    const [t] = await wh.query<{ n: number }>('SELECT count(*) AS n FROM privacy_tombstones');
    assert.ok(Number(t!.n) >= 1);
    const pending = await wh.query('SELECT id FROM privacy_requests WHERE erased_at IS NULL');
    assert.deepEqual(pending, [], 'the restore erased what it deleted from the new file’s bytes');
  } finally {
    await wh.close();
  }
});

test('restore checks the schema version, and the API keeps files under the data root', async () => {
  // A backup from a newer segflow is refused, and nothing is created.
  copyFileSync(join(dir, 'backup.duckdb'), join(dir, 'newer.duckdb'));
  const newer = await openWarehouse({ path: join(dir, 'newer.duckdb') });
  await newer.run(`UPDATE segflow_meta SET value = ? WHERE key = 'schema_version'`, [
    String(LATEST_SCHEMA_VERSION + 1),
  ]);
  await newer.close();
  const admin = (path: string, body: object) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const tooNew = await admin('/api/v1/backups/restore', { backup: 'newer.duckdb', to: 'from-newer.duckdb' });
  assert.equal(tooNew.status, 400);
  const err = (await tooNew.json()) as { code: string; message: string };
  assert.equal(err.code, 'BACKUP_INVALID');
  assert.match(err.message, new RegExp(`schema version ${LATEST_SCHEMA_VERSION + 1}`));
  assert.equal(existsSync(join(dir, 'from-newer.duckdb')), false);

  const cli = await segflowAsync(['--db', db, 'restore', 'newer.duckdb', '--to', 'x.duckdb', '--json'], {
    cwd: dir,
  });
  assert.equal(cli.status, 1);
  assert.equal(JSON.parse(cli.stdout).error.code, 'BACKUP_INVALID');

  for (const file of ['../outside.duckdb', '/tmp/outside.duckdb']) {
    const r = await admin('/api/v1/backups', { file });
    assert.equal(r.status, 400, file);
  }
  const ok = await admin('/api/v1/backups', { file: 'api-backup.duckdb' });
  assert.equal(ok.status, 201, await ok.clone().text());
  assert.equal(((await ok.json()) as { file: string }).file, 'api-backup.duckdb');
  assert.ok(existsSync(join(dir, 'api-backup.duckdb')));
});
