import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { createApiKey } from '../../src/govern/api-keys.js';
import { deletePerson } from '../../src/govern/privacy.js';
import { importFile } from '../../src/instrument/import/import-file.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { modelConfig } from '../../src/model/model-config.js';
import { refreshFeatures } from '../../src/model/refresh-features.js';
import { buildServer } from '../../src/server/app.js';
import { at, HOUR, refresh } from '../activate/helpers.js';
import { CANARY, sendCanaryThroughSdk, writeCanaryHistory } from '../helpers/canary.js';
import { segflow } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { spawnServe } from '../server/helpers.js';

/**
 * The erasure step on ClickHouse embedded (chdb): after a privacy delete the rows are hidden at once, but their bytes
 * stay in the folder (masked rows in active parts, the parts mutations replaced, the DELETEs' text in mutation_N.txt)
 * until `segflow privacy erase` (or `segflow serve` at start) rewrites the tables that had deletes. Then no file under
 * the data directory — chdb's folder, its intake log, the rejects file — holds a byte of the person.
 */

/** Every string that identifies the canary (userId, anonymousId and email first). */
const CANARIES = Object.values(CANARY);
const ACTOR = { actor: 'cli:test' };
const ENV = { SEGFLOW_ENGINE: 'clickhouse' };

/** Regular files under `dir` (chdb links each table's folder under data/ to store/: each file is read once). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    const s = lstatSync(p);
    return s.isDirectory() ? filesUnder(p) : s.isFile() ? [p] : [];
  });
}

/** Which of `needles` appear in the raw bytes of which files under `dir`. */
function byteScan(dir: string, needles: readonly string[]): string[] {
  const hits: string[] = [];
  for (const file of filesUnder(dir)) {
    const bytes = readFileSync(file);
    for (const c of needles) if (bytes.includes(Buffer.from(c))) hits.push(`${relative(dir, file)}: ${c}`);
  }
  return hits;
}

/** Everyone else's data: a checksum of their events, traits, persons and memberships. */
async function othersFingerprint(wh: Warehouse): Promise<{ counts: number[]; checksum: string }> {
  const events = await wh.query('SELECT message_id, user_id, event, ts FROM events ORDER BY message_id');
  const traits = await wh.query(
    'SELECT identifier, key, CAST(value AS VARCHAR) AS value FROM identity_traits ORDER BY identifier, key',
  );
  const persons = await wh.query('SELECT person_id, event_count FROM persons ORDER BY person_id');
  const members = await wh.query(
    'SELECT segment, person_id FROM segment_memberships ORDER BY segment, person_id',
  );
  const checksum = createHash('sha256')
    .update(JSON.stringify([events, traits, persons, members]))
    .digest('hex');
  return { counts: [events.length, traits.length, persons.length, members.length], checksum };
}

const root = tempDir('segflow-ch-erasure-');
/** The data directory, where the CLI runs: the engine's default folder ./segflow.clickhouse, .intake beside it. */
const data = join(root, 'data');
mkdirSync(data);
const folder = join(data, 'segflow.clickhouse');
const open = () => openWarehouse({ clickhouse: { folder, database: 'segflow' } });

test('chdb: after a delete by email and `segflow privacy erase`, no file under the data directory holds a byte of the person', {
  timeout: 600_000,
}, async () => {
  // 1. The canary arrives through the collector (the real SDK, acknowledged from the intake log), beside others.
  let wh = await open();
  const write = (await createApiKey(wh, 'write')).key;
  const server = await buildServer({
    warehouse: wh,
    groupCommit: { intakeLog: `${folder}.intake` },
    exposures: { logDir: false },
  });
  const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
  await sendCanaryThroughSdk({ host: url, writeKey: write, others: 10 });
  await server.committer.settled();

  // 2. History by import, with a row rejected into a rejects file; then features and a segment.
  const source = join(root, 'history.ndjson');
  writeCanaryHistory(source);
  const imported = await importFile(wh, { path: source, rejectsPath: join(data, 'rejects.ndjson') });
  assert.equal(imported.rejected, 1);
  await refreshFeatures(wh, modelConfig(), { asOf: at(3 * HOUR) });
  await refresh(wh, at(3 * HOUR));

  // 3. Delete by email; everyone else's data is fingerprinted first.
  const before = await othersFingerprint(wh);
  const deleted = await deletePerson(wh, 'canary-mail-4242@example.test', ACTOR);
  assert.equal(deleted.persons, 1);
  const afterDelete = await othersFingerprint(wh);
  await server.app.close();
  await wh.close();

  // The rows are gone, but the bytes are not: before the erasure step the scan finds the identifiers and the email in
  // data parts of chdb's folder (not only in a mutation's text) and every canary in the intake log (else it would
  // prove nothing). Values inside JSON columns are LZ4-compressed with their neighbours, so the raw scan does not
  // always see them in a part: the ids are the ones it reliably sees.
  const leftBefore = byteScan(data, CANARIES);
  const inParts = leftBefore.filter(
    (h) => h.startsWith('segflow.clickhouse/') && !/mutation_\d+\.txt/.test(h),
  );
  for (const c of CANARIES.slice(0, 3))
    assert.ok(
      inParts.some((h) => h.endsWith(`: ${c}`)),
      `${c} in a part file: ${leftBefore.join('; ')}`,
    );
  for (const c of CANARIES)
    assert.ok(
      leftBefore.some((h) => h.startsWith('segflow.clickhouse.intake/') && h.endsWith(`: ${c}`)),
      c,
    );
  const pending = segflow(['privacy', 'status', '--json'], { cwd: data, env: ENV });
  assert.equal(pending.status, 0, pending.stderr);
  assert.equal(JSON.parse(pending.stdout)[0].erasedAt, null);

  // 4. The erasure step, then the byte scan of every file under the data directory.
  const erase = segflow(['privacy', 'erase', '--json'], { cwd: data, env: ENV });
  assert.equal(erase.status, 0, erase.stderr);
  const erased = JSON.parse(erase.stdout) as {
    requests: number;
    intakeSegments: number;
    database: { tables: string[] };
  };
  assert.equal(erased.requests, 1);
  assert.ok(erased.intakeSegments >= 1);
  assert.ok(erased.database.tables.includes('events'), erased.database.tables.join(', '));
  assert.deepEqual(byteScan(data, CANARIES), []);
  const done = segflow(['privacy', 'status', '--json'], { cwd: data, env: ENV });
  assert.ok(JSON.parse(done.stdout)[0].erasedAt, 'the request records when the erasure reached storage');

  // 5. Everyone else is intact, and the rewritten tables take writes as before.
  wh = await open();
  try {
    const kept = await othersFingerprint(wh);
    assert.deepEqual(kept, afterDelete);
    assert.equal(kept.counts[0], before.counts[0]! - 4, 'only the canary’s four events went');
    const more = await ingestMessages(
      wh,
      [{ type: 'track', event: 'Order Completed', userId: 'other-1', timestamp: at(4 * HOUR).toISOString() }],
      { source: 'test' },
    );
    assert.equal(more.inserted, 1);
    const [n] = await wh.query<{ n: number }>(
      "SELECT event_count AS n FROM persons WHERE person_id = 'other-1'",
    );
    assert.equal(Number(n!.n), 3);
  } finally {
    await wh.close();
  }
});

test('chdb: `segflow serve` erases pending deletes before it opens the folder', {
  timeout: 300_000,
}, async () => {
  const wh = await open();
  try {
    const r = await ingestMessages(
      wh,
      [
        {
          type: 'identify',
          userId: 'canary-late-2208',
          traits: { email: 'canary-late-2208@example.test' },
          timestamp: at(0).toISOString(),
        },
      ],
      { source: 'test' },
    );
    assert.equal(r.inserted, 1);
    await deletePerson(wh, 'canary-late-2208', ACTOR);
  } finally {
    await wh.close();
  }
  const needles = ['canary-late-2208'];
  assert.ok(byteScan(folder, needles).length > 0, 'the deleted person is on disk before the server starts');
  const serve = await spawnServe('', ['--no-stream'], { cwd: data, env: ENV });
  try {
    // The server logs the erasure it ran at start right after it says it listens.
    while (!/privacy erasure/.test(serve.stderr())) await new Promise((r) => setTimeout(r, 50));
    assert.match(serve.stderr(), /"requests":1[^\n]*privacy erasure reached storage/);
  } finally {
    serve.child.kill('SIGTERM');
    assert.equal(await serve.exited, 0, serve.stderr());
  }
  assert.deepEqual(byteScan(folder, needles), []);
});
