import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { readAudit } from '../../src/govern/audit.js';
import { purgeExpired, retentionConfig } from '../../src/govern/retention.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { segflow } from '../helpers/cli.js';
import { ENGINES } from '../helpers/engines.js';
import { tempDir } from '../helpers/temp.js';
import { startTestServer } from '../server/helpers.js';

const DAY = 86_400_000;
const now = new Date('2026-06-01T00:00:00Z');
const ago = (days: number) => new Date(now.getTime() - days * DAY).toISOString();

/** Retention runs the same deletes on each engine (on ClickHouse, lightweight DELETEs; no TTL yet). */
for (const engine of ENGINES) {
  describe(engine.name, () => {
    test('retention windows per event name, per message type, and a default', async () => {
      const wh = await engine.open();
      try {
        let k = 0;
        const ev = (type: string, days: number, extra: object = {}) => ({
          type,
          userId: 'u',
          timestamp: ago(days),
          messageId: `r${++k}`,
          ...extra,
        });
        await ingestMessages(
          wh,
          [
            ev('track', 400, { event: 'Page Viewed' }),
            ev('track', 100, { event: 'Page Viewed' }),
            ev('track', 2000, { event: 'Order Completed' }),
            ev('track', 3000, { event: 'Order Completed' }),
            ev('page', 40, { name: 'Home' }),
            ev('page', 10, { name: 'Home' }),
            ev('track', 800, { event: 'Other' }),
            ev('identify', 800, { traits: { a: 1 } }),
            // Someone whose every event is past its window.
            ev('track', 900, { event: 'Other', userId: 'gone' }),
          ],
          { source: 'test' },
        );
        const rules = retentionConfig({
          'Page Viewed': '13mo',
          'Order Completed': '7y',
          page: '30d',
          default: '2y',
        });
        const dry = await purgeExpired(wh, rules, { asOf: now, dryRun: true });
        assert.deepEqual(
          dry.rules.map((r) => [r.key, r.events]),
          [
            ['Page Viewed', 1],
            ['Order Completed', 1],
            ['page', 1],
            ['default', 3],
          ],
        );
        const [all] = await wh.query<{ n: number }>('SELECT count(*) AS n FROM events');
        assert.equal(Number(all!.n), 9, 'a dry run deletes nothing');
        await purgeExpired(wh, rules, { asOf: now });
        const left = await wh.query<{ event: string | null; type: string }>(
          'SELECT type, event FROM events ORDER BY ts',
        );
        assert.equal(left.length, 3);
        // The profile facts are counted again from what is left: no purged event is still counted or dated.
        const persons = await wh.query<{ person_id: string; first_seen: Date; last_seen: Date; n: number }>(
          'SELECT person_id, first_seen, last_seen, event_count AS n FROM persons ORDER BY person_id',
        );
        assert.deepEqual(
          persons.map((p) => ({ ...p, n: Number(p.n) })),
          [{ person_id: 'u', first_seen: new Date(ago(2000)), last_seen: new Date(ago(10)), n: 3 }],
        );
        assert.throws(() => retentionConfig({ x: '13 months' }), /a retention like 395d/);
      } finally {
        await wh.close();
      }
    });
  });
}

// The command on a chdb folder named in segflow.config.yaml, with its windows: what an operator runs on ClickHouse.
test('segflow govern purge on a ClickHouse folder from segflow.config.yaml', {
  skip: !ENGINES.some((e) => e.name === 'clickhouse'),
  timeout: 120_000,
}, async () => {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'segflow.config.yaml'),
    'engine: clickhouse\nclickhouse: { folder: ./shop.clickhouse }\nretention: { "Page Viewed": 30d, default: 2y }\n',
  );
  const wh = await openWarehouse({
    clickhouse: { folder: join(dir, 'shop.clickhouse'), database: 'segflow' },
  });
  try {
    await ingestMessages(
      wh,
      [
        { type: 'track', event: 'Page Viewed', userId: 'u', timestamp: ago(40), messageId: 'p1' },
        { type: 'track', event: 'Page Viewed', userId: 'u', timestamp: ago(5), messageId: 'p2' },
        { type: 'track', event: 'Order Completed', userId: 'u', timestamp: ago(40), messageId: 'o1' },
      ],
      { source: 'test' },
    );
  } finally {
    await wh.close();
  }
  const purged = segflow(['govern', 'purge', '--as-of', now.toISOString(), '--json'], { cwd: dir });
  assert.equal(purged.status, 0, purged.stderr);
  const rules = (JSON.parse(purged.stdout) as { rules: { key: string; events: number }[] }).rules;
  assert.deepEqual(
    rules.map((r) => [r.key, r.events]),
    [
      ['Page Viewed', 1],
      ['default', 0],
    ],
  );
  const left = segflow(['sql', 'SELECT message_id FROM events ORDER BY message_id', '--json'], { cwd: dir });
  assert.equal(left.status, 0, left.stderr);
  assert.deepEqual(JSON.parse(left.stdout).rows, [{ message_id: 'o1' }, { message_id: 'p2' }]);
});

test('the audit log records key changes, person reads (API and CLI) and definition changes', async () => {
  const dir = tempDir();
  const db = join(dir, 'audit.duckdb');
  const wh = await openWarehouse({ path: db });
  await ingestMessages(
    wh,
    [{ type: 'identify', userId: 'pat', traits: { plan: 'pro' }, timestamp: ago(1), messageId: 'a1' }],
    { source: 'test' },
  );
  await wh.close();
  const created = segflow(['--db', db, 'keys', 'create', '--role', 'read', '--json']);
  assert.equal(created.status, 0, created.stderr);
  const keyId = JSON.parse(created.stdout).id;
  assert.equal(segflow(['--db', db, 'persons', 'show', 'pat']).status, 0);
  mkdirSegments(dir);
  const refreshed = segflow([
    '--db',
    db,
    'refresh',
    '--dir',
    join(dir, 'segments'),
    '--as-of',
    now.toISOString(),
  ]);
  assert.equal(refreshed.status, 0, refreshed.stderr);
  const server = await startTestServer({ dbPath: join(dir, 'api.duckdb') });
  try {
    await ingestMessages(
      server.wh,
      [{ type: 'identify', userId: 'sam', traits: {}, timestamp: ago(1), messageId: 'b1' }],
      { source: 'test' },
    );
    const r = await fetch(`${server.url}/api/v1/persons/sam`, {
      headers: { authorization: `Bearer ${server.keys.read}` },
    });
    assert.equal(r.status, 200);
    const entries = await readAudit(server.wh);
    assert.equal(entries[0]!.action, 'person.read');
    assert.equal(entries[0]!.target, 'sam');
    assert.match(entries[0]!.actor, /^key:/);
    const log = await fetch(`${server.url}/api/v1/audit`, {
      headers: { authorization: `Bearer ${server.keys.read}` },
    });
    assert.equal(log.status, 403, 'the audit log is for admins');
  } finally {
    await server.close();
  }
  const audit = segflow(['--db', db, 'audit', '--json']);
  assert.equal(audit.status, 0, audit.stderr);
  const rows = JSON.parse(audit.stdout) as { action: string; target: string; actor: string }[];
  const actions = rows.map((x) => `${x.action} ${x.target}`).sort();
  assert.deepEqual(actions, [`key.create ${keyId}`, 'person.read pat', 'segment.create vip'].sort());
  assert.ok(rows.every((x) => x.actor.startsWith('cli:')));
});

function mkdirSegments(dir: string) {
  mkdirSync(join(dir, 'segments'));
  writeFileSync(join(dir, 'segments', 'vip.yaml'), 'name: vip\nwhere: { trait: plan, equals: pro }\n');
}
