import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { runActivation } from '../../src/activate/activate-run.js';
import { parsePlaybook } from '../../src/activate/playbook.js';
import { openWarehouse } from '../../src/engine/open.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { importFile } from '../../src/instrument/import/import-file.js';
import { modelConfig } from '../../src/model/model-config.js';
import { refreshFeatures } from '../../src/model/refresh-features.js';
import { at, BUYERS, HOUR, type Receiver, refresh, SECRET, startReceiver } from '../activate/helpers.js';
import { CANARY, sendCanaryThroughSdk, writeCanaryHistory } from '../helpers/canary.js';
import { segflow } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { startTestServer, type TestServer } from '../server/helpers.js';

/** Every string that identifies the canary (userId, anonymousId and email first). */
const CANARIES = Object.values(CANARY);

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** Which canary strings appear in the raw bytes of which files under `dir`. */
function byteScan(dir: string): string[] {
  const hits: string[] = [];
  for (const file of filesUnder(dir)) {
    const bytes = readFileSync(file);
    for (const c of CANARIES) if (bytes.includes(Buffer.from(c))) hits.push(`${relative(dir, file)}: ${c}`);
  }
  return hits;
}

/** Everyone else's data: row counts and a checksum of their events, traits and memberships. */
async function othersFingerprint(wh: Warehouse): Promise<{ counts: number[]; checksum: string }> {
  const events = await wh.query<{
    message_id: string;
    user_id: string | null;
    event: string | null;
    ts: Date;
  }>('SELECT message_id, user_id, event, ts FROM events ORDER BY message_id');
  const traits = await wh.query<{ identifier: string; key: string; value: string }>(
    'SELECT identifier, key, CAST(value AS VARCHAR) AS value FROM identity_traits ORDER BY identifier, key',
  );
  const members = await wh.query<{ segment: string; person_id: string }>(
    'SELECT segment, person_id FROM segment_memberships ORDER BY segment, person_id',
  );
  const checksum = createHash('sha256')
    .update(JSON.stringify([events, traits, members]))
    .digest('hex');
  return { counts: [events.length, traits.length, members.length], checksum };
}

let receiver: Receiver;
let server: TestServer;
const root = tempDir('segflow-erasure-');
const data = join(root, 'data');
const db = join(data, 'segflow.duckdb');
before(async () => {
  receiver = await startReceiver();
  mkdirSync(data);
  server = await startTestServer({ dbPath: db });
});
let serverClosed = false;
after(async () => {
  await receiver.close();
  if (!serverClosed) await server.close();
});

test('after a delete by email and the erasure step, no file under the data directory holds a byte of the person', async () => {
  // 1. The canary person arrives through the collector with the real SDK, beside twenty others.
  await sendCanaryThroughSdk({ host: server.url, writeKey: server.keys.write, others: 20 });

  // 2. History for the canary by import, with a row that is rejected into a rejects file.
  const source = join(root, 'history.ndjson');
  writeCanaryHistory(source);
  await server.committer.settled();
  const imported = await importFile(server.wh, { path: source, rejectsPath: join(data, 'rejects.ndjson') });
  assert.equal(imported.rejected, 1);

  // 3. Refresh, activate, and export an audience file (through the API, under the data root).
  const pb = parsePlaybook(`
consent: { default: allow }
destinations:
  hook: { type: webhook, url: "${receiver.url}", secret: "${SECRET}" }
plays:
  - { name: thanks, segment: recent-buyers, offer: thanks, channel: webhook, destination: hook }
`);
  await runActivation(server.wh, pb, { asOf: at(0) });
  await refreshFeatures(server.wh, modelConfig(), { asOf: at(3 * HOUR) });
  await refresh(server.wh, at(3 * HOUR), [BUYERS]);
  await runActivation(server.wh, pb, { asOf: at(4 * HOUR) });
  assert.equal(receiver.requests.length, 21);
  const admin = { authorization: `Bearer ${server.keys.admin}`, 'content-type': 'application/json' };
  const exported = await fetch(`${server.url}/api/v1/audiences/recent-buyers/export`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ dir: 'audiences', traits: ['email', 'first_name'] }),
  });
  assert.equal(exported.status, 200, await exported.clone().text());

  // 4. Delete by email; everyone else's data is fingerprinted first.
  const [{ person_id: canaryId } = { person_id: '' }] = await server.wh.query<{ person_id: string }>(
    "SELECT person_id FROM identities WHERE identifier = 'canary-user-7731'",
  );
  const before = await othersFingerprint(server.wh);
  const del = await fetch(`${server.url}/api/v1/privacy/persons/canary-mail-4242%40example.test/delete`, {
    method: 'POST',
    headers: admin,
    body: '{}',
  });
  assert.equal(del.status, 200, await del.clone().text());
  assert.equal(((await del.json()) as { persons: number }).persons, 1);
  const afterDelete = await othersFingerprint(server.wh);
  serverClosed = true;
  await server.close();

  // The rows are gone, but the bytes are not: the scan finds the canaries before the erasure step.
  const leftBefore = byteScan(data);
  // The scan sees every canary in the database file and in the intake log before erasure (else it proves nothing).
  for (const c of CANARIES) {
    assert.ok(
      leftBefore.includes(`segflow.duckdb: ${c}`),
      `${c} in the database file: ${leftBefore.join('; ')}`,
    );
    assert.ok(leftBefore.some((h) => h.startsWith('segflow.duckdb.intake/') && h.endsWith(c)));
  }
  const pending = segflow(['--db', db, 'privacy', 'status', '--json']);
  assert.equal(pending.status, 0, pending.stderr);
  assert.equal(JSON.parse(pending.stdout)[0].erasedAt, null);

  // 5. The erasure step, then the byte scan of every file under the data directory.
  const erase = segflow(['--db', db, 'privacy', 'erase', '--json']);
  assert.equal(erase.status, 0, erase.stderr);
  assert.equal(JSON.parse(erase.stdout).requests, 1);
  assert.deepEqual(byteScan(data), []);
  const done = segflow(['--db', db, 'privacy', 'status', '--json']);
  assert.ok(JSON.parse(done.stdout)[0].erasedAt, 'the request records when the erasure reached storage');

  // 6. Everyone else is intact.
  const wh = await openWarehouse({ path: db, readOnly: true });
  try {
    const kept = await othersFingerprint(wh);
    assert.deepEqual(kept, afterDelete);
    assert.equal(kept.counts[0], before.counts[0]! - 4, 'only the canary’s four events went');
    const [n] = await wh.query<{ n: number }>('SELECT count(*) AS n FROM identities WHERE person_id = ?', [
      canaryId,
    ]);
    assert.equal(Number(n!.n), 0);
    const [others] = await wh.query<{ n: number }>(
      "SELECT count(*) AS n FROM persons WHERE person_id LIKE 'other-%'",
    );
    assert.equal(Number(others!.n), 20);
  } finally {
    await wh.close();
  }
});
