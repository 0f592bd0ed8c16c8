import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { importFile } from '../../src/instrument/import/import-file.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { KILL_POINTS, type KillPoint } from '../../src/instrument/kill-point.js';
import { segflow } from '../helpers/cli.js';
import { ENGINES } from '../helpers/engines.js';
import { tempDir } from '../helpers/temp.js';
import { basicAuth, servedDatabase, spawnServe } from './helpers.js';

/**
 * A load cut short at a precise point and replayed gives the same people as one clean load. `segflow serve` runs as a
 * child process with SEGFLOW_TEST_KILL_AT naming a kill point (src/instrument/kill-point.ts): it acknowledges a batch
 * from its intake log, and its loader SIGKILLs the process at that point of the batch's load. The restart replays the
 * intake log. On DuckDB the load was one transaction, so the replay loads it whole; on ClickHouse (no transactions)
 * what the load wrote before the kill stays written, and the replay must complete it: the already-stored events'
 * traits, emails, consent, accounts and activity, and the merges their identify and alias calls made.
 */

const at = (minutes: number) => new Date(Date.UTC(2026, 2, 1, 9, minutes)).toISOString();

/** Stored before the killed load (an import): anonymous visitors, and u2 identified later than the batch says. */
const EARLIER = [
  { type: 'page', anonymousId: 'anon-1', name: 'Pricing', messageId: 'early-1', timestamp: at(0) },
  { type: 'track', anonymousId: 'anon-2', event: 'Viewed', messageId: 'early-2', timestamp: at(1) },
  {
    type: 'identify',
    userId: 'u2',
    traits: { plan: 'trial', email: 'bo@example.com' },
    messageId: 'early-3',
    timestamp: at(50),
  },
];

/** The batch whose load is killed: every kind of fact a load writes, and two merges of people stored earlier. */
const BATCH = [
  {
    type: 'identify',
    userId: 'u1',
    anonymousId: 'anon-1',
    traits: { name: 'Ada', plan: 'pro', email: 'ada@example.com' },
    context: { consent: { categoryPreferences: { marketing: true, analytics: false } } },
    messageId: 'batch-1',
    timestamp: at(10),
  },
  {
    type: 'track',
    userId: 'u1',
    event: 'Order Completed',
    properties: { revenue: 42 },
    messageId: 'batch-2',
    timestamp: at(11),
  },
  {
    type: 'group',
    userId: 'u1',
    groupId: 'acme',
    traits: { name: 'Acme', tier: 'gold' },
    messageId: 'batch-3',
    timestamp: at(12),
  },
  // Older than u2's stored identify: its plan must not win, whichever load writes it.
  {
    type: 'identify',
    userId: 'u2',
    traits: { plan: 'free', city: 'Oslo' },
    messageId: 'batch-4',
    timestamp: at(20),
  },
  { type: 'alias', previousId: 'anon-2', userId: 'u2', messageId: 'batch-5', timestamp: at(21) },
];

type Rows = Record<string, unknown>[];

/** A value as the two engines' drivers agree on it: counts as numbers, times as ISO text, JSON objects parsed. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'string' && v.startsWith('{')) return sortedKeys(JSON.parse(v));
  return v;
}

function sortedKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}

async function rows(wh: Warehouse, sql: string): Promise<Rows> {
  return (await wh.query(sql)).map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)])),
  );
}

/** Everything a load derives about people and accounts, in a stable order (times of writing left out). */
async function peopleState(wh: Warehouse): Promise<Record<string, Rows>> {
  return {
    persons: await rows(
      wh,
      `SELECT person_id, identified, first_seen, last_seen, event_count, identifier_count, traits, consent
       FROM persons ORDER BY person_id`,
    ),
    identities: await rows(wh, 'SELECT identifier, person_id, is_user FROM identities ORDER BY identifier'),
    eventPersons: await rows(wh, 'SELECT message_id, person_id FROM events ORDER BY message_id'),
    overrides: await rows(wh, 'SELECT old_person_id, person_id FROM person_overrides ORDER BY old_person_id'),
    merges: await rows(wh, 'SELECT old_person_id, person_id FROM person_merges ORDER BY old_person_id'),
    emails: await rows(wh, 'SELECT email, identifier FROM identity_emails ORDER BY email, identifier'),
    consentHistory: await rows(
      wh,
      'SELECT identifier, purpose, granted, message_id FROM consent_history ORDER BY identifier, purpose, message_id',
    ),
    accounts: await rows(wh, 'SELECT group_id, member_count, traits FROM accounts ORDER BY group_id'),
    members: await rows(
      wh,
      'SELECT group_id, identifier, first_seen FROM account_members ORDER BY group_id, identifier',
    ),
  };
}

function writeNdjson(path: string, messages: readonly object[]): string {
  writeFileSync(path, messages.map((m) => JSON.stringify(m)).join('\n'));
  return path;
}

for (const engine of ENGINES) {
  // A DuckDB load is one transaction: killed anywhere in it, nothing of it is stored, so one point shows it (each case
  // is a child serve started twice, ~20 s: npm test must stay under 20 minutes). ClickHouse keeps what a load wrote
  // before the kill: every point.
  const points: readonly KillPoint[] = engine.name === 'duckdb' ? ['ingest:events-stored'] : KILL_POINTS;
  for (const point of points) {
    test(`${engine.name}: a load SIGKILLed at ${point} and replayed gives the people one clean load gives`, async () => {
      const dir = tempDir('segflow-load-crash-');
      const earlier = writeNdjson(join(dir, 'earlier.ndjson'), EARLIER);

      // What one clean load gives: the same import, then the batch, in this process.
      const clean = await engine.open();
      let expected: Record<string, Rows>;
      try {
        await importFile(clean, { path: earlier, rejectsPath: null });
        const counts = await ingestMessages(clean, BATCH, { source: 'collector' });
        assert.equal(counts.inserted, BATCH.length);
        expected = await peopleState(clean);
      } finally {
        await clean.close();
      }
      // The batch is about the people stored earlier: the replay has merges to complete, not only new people.
      assert.deepEqual(expected.overrides, [
        { old_person_id: 'anon-1', person_id: 'u1' },
        { old_person_id: 'anon-2', person_id: 'u2' },
      ]);

      const database = servedDatabase(engine, dir);
      const cli = { cwd: dir, env: database.env };
      const created = segflow(['keys', 'create', '--role', 'write', '--json'], cli);
      assert.equal(created.status, 0, created.stderr);
      const writeKey = (JSON.parse(created.stdout) as { key: string }).key;
      const imported = segflow(['import', earlier, '--no-rejects'], cli);
      assert.equal(imported.status, 0, imported.stderr);

      const killed = await spawnServe('', [], {
        cwd: dir,
        env: { ...database.env, SEGFLOW_TEST_KILL_AT: point },
      });
      const res = await fetch(`${killed.url}/v1/batch`, {
        method: 'POST',
        headers: { authorization: basicAuth(writeKey), 'content-type': 'application/json' },
        body: JSON.stringify({ batch: BATCH }),
      });
      assert.equal(res.status, 200, 'acknowledged from the intake log, before the load');
      // The loader reaches the kill point and the process kills itself: no exit code, no clean shutdown.
      assert.equal(await killed.exited, null, killed.stderr());
      assert.equal(killed.child.signalCode, 'SIGKILL');

      // The restart replays the intake log before it listens; a SIGTERM then stops it cleanly.
      const restarted = await spawnServe('', [], cli);
      restarted.child.kill('SIGTERM');
      assert.equal(await restarted.exited, 0, restarted.stderr());

      const wh = await database.open();
      try {
        assert.deepEqual(await peopleState(wh), expected);
      } finally {
        await wh.close();
      }
    });
  }
}
