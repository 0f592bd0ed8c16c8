import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runActivation } from '../../src/activate/activate-run.js';
import { listDeliveries } from '../../src/activate/outbox.js';
import { loadPlaybook } from '../../src/activate/playbook.js';
import { openWarehouse } from '../../src/engine/open.js';
import { segflow, segflowAsync } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { startTestServer } from '../server/helpers.js';
import { at, DAY, events, HOUR, type Receiver, refresh, SECRET, startReceiver, track } from './helpers.js';

describe('activation through the CLI and the admin API; schedules', () => {
  let receiver: Receiver;
  const dir = tempDir();
  const file = join(dir, 'playbook.yaml');
  before(async () => {
    receiver = await startReceiver();
    writeFileSync(
      file,
      `consent: { default: allow }
destinations:
  hook: { type: webhook, url: "${receiver.url}", secret: "${SECRET}" }
plays:
  - { name: welcome, segment: recent-buyers, offer: welcome pack, channel: webhook, destination: hook, priority: 5, kpi: repeat_rate }
  - { name: banner, segment: recent-buyers, offer: in-app banner, channel: in_app, priority: 1 }
  - name: weekly
    segment: recent-buyers
    offer: weekly digest
    channel: digest
    destination: hook
    re_entry: every_time
    trigger: { on: schedule, cron: "0 9 * * 1", timezone: Europe/Berlin }
`,
    );
  });
  after(() => receiver.close());

  test('activate run, deliveries list, decide and playbook check from the command line', async () => {
    const db = join(dir, 'cli.duckdb');
    const wh = await openWarehouse({ path: db });
    await runActivation(wh, loadPlaybook(file), { asOf: at(0) });
    await events(wh, [track('ann', 'Order Completed', at(HOUR), { properties: { revenue: 5 } })]);
    await refresh(wh, at(2 * HOUR));
    await wh.close();
    const run = await segflowAsync([
      '--db',
      db,
      'activate',
      'run',
      '--playbook',
      file,
      '--as-of',
      at(3 * HOUR).toISOString(),
      '--json',
    ]);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).outbox.sent, 1);
    const list = segflow(['--db', db, 'deliveries', 'list', '--status', 'sent', '--json']);
    assert.equal(list.status, 0, list.stderr);
    assert.deepEqual(
      JSON.parse(list.stdout).map((d: { play: string; person_id: string }) => [d.play, d.person_id]),
      [['welcome', 'ann']],
    );
    const d = segflow([
      '--db',
      db,
      'decide',
      'ann',
      '--playbook',
      file,
      '--as-of',
      at(4 * HOUR).toISOString(),
    ]);
    assert.equal(d.status, 0, d.stderr);
    // welcome was already given once; the in-app banner is next.
    assert.match(d.stdout, /→ banner: in-app banner/);
    assert.match(d.stdout, /✗ welcome .*re-entry: once/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'plays:\n  - name: Bad Name\n    segment: x\n    offer: y\n    channel: email\n    destination: nowhere\n',
    );
    const check = segflow(['playbook', 'check', bad]);
    assert.notEqual(check.status, 0);
    assert.match(check.stderr, /bad\.yaml:2 plays\.0\.name: lowercase letters/);
    assert.match(check.stderr, /bad\.yaml:6 plays\.0\.destination: no destination 'nowhere'/);
  });

  test('GET /api/v1/decide/:personId (read key) and POST /api/v1/activate/run (admin key)', async () => {
    const server = await startTestServer({ playbook: file });
    try {
      const call = (method: string, path: string, key: string, body?: unknown) =>
        fetch(`${server.url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${key}`,
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
      const init = await call('POST', '/api/v1/activate/run', server.keys.admin, {
        asOf: at(0).toISOString(),
      });
      assert.equal(init.status, 200);
      await events(server.wh, [track('bo', 'Order Completed', at(HOUR), { properties: { revenue: 5 } })]);
      await refresh(server.wh, at(2 * HOUR));
      const d = await call('GET', `/api/v1/decide/bo?asOf=${at(3 * HOUR).toISOString()}`, server.keys.read);
      assert.equal(d.status, 200);
      const decision = (await d.json()) as { play: { name: string; variant: string }; segments: string[] };
      assert.equal(decision.play.name, 'welcome');
      assert.deepEqual(decision.segments, ['recent-buyers']);
      assert.equal((await call('POST', '/api/v1/activate/run', server.keys.read, {})).status, 403);
      const listed = await call('GET', '/api/v1/deliveries?status=sent', server.keys.read);
      assert.equal(listed.status, 200);
    } finally {
      await server.close();
    }
  });

  test('a schedule fires at its local time for the segment’s members then, once per tick', async () => {
    const wh = await openWarehouse({ path: ':memory:' });
    try {
      const pb = loadPlaybook(file);
      // Monday 2026-05-04 12:00 UTC: cursors start; Monday 2026-05-11 09:00 Berlin = 07:00 UTC is the next tick.
      await runActivation(wh, pb, { asOf: at(0) });
      await events(wh, [track('cy', 'Order Completed', at(5 * DAY), { properties: { revenue: 5 } })]);
      await refresh(wh, at(5 * DAY + HOUR));
      await runActivation(wh, pb, { asOf: at(6 * DAY) });
      await runActivation(wh, pb, { asOf: new Date('2026-05-11T08:00:00Z') });
      await runActivation(wh, pb, { asOf: new Date('2026-05-11T09:00:00Z') });
      const weekly = await listDeliveries(wh, { play: 'weekly' });
      assert.deepEqual(
        weekly.map((d) => [d.person_id, d.occurred_at.toISOString(), d.status]),
        [['cy', '2026-05-11T07:00:00.000Z', 'sent']],
      );
    } finally {
      await wh.close();
    }
  });
});

test('POST /api/v1/refresh turns the loop once: features, segments from the folder, then the playbook', async () => {
  const dir = tempDir();
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(dir, 'segments'));
  writeFileSync(
    join(dir, 'segments', 'recent-buyers.yaml'),
    'name: recent-buyers\nwhere: { performed: { event: Order Completed, within: 7d } }\n',
  );
  const receiver = await startReceiver();
  const playbook = join(dir, 'playbook.yaml');
  writeFileSync(
    playbook,
    `consent: { default: allow }
destinations:
  hook: { type: webhook, url: "${receiver.url}", secret: "${SECRET}" }
plays:
  - { name: welcome, segment: recent-buyers, offer: welcome pack, channel: webhook, destination: hook }
`,
  );
  const server = await startTestServer({ playbook, segmentsDir: join(dir, 'segments') });
  try {
    const cycle = (asOf: Date, key = server.keys.admin, full = false) =>
      fetch(`${server.url}/api/v1/refresh`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ asOf: asOf.toISOString(), ...(full ? { full } : {}) }),
      });
    const first = (await (await cycle(at(0))).json()) as { features: { mode: string } };
    assert.equal(first.features.mode, 'full', 'no earlier refresh to start from');
    await events(server.wh, [track('dee', 'Order Completed', at(HOUR), { properties: { revenue: 5 } })]);
    const r = await cycle(at(2 * HOUR));
    assert.equal(r.status, 200);
    const summary = (await r.json()) as {
      features: { mode: string; recomputed: number };
      segments: { name: string; entered: number }[];
      segmentRefresh: { mode: string; recomputed: number };
      activation: { outbox: { sent: number } };
    };
    // Only dee, who has a new event, is computed again from events.
    assert.deepEqual(summary.features, { ...summary.features, mode: 'incremental', recomputed: 1 });
    // And only dee is evaluated for the segments again.
    assert.deepEqual(summary.segmentRefresh, {
      ...summary.segmentRefresh,
      mode: 'incremental',
      recomputed: 1,
    });
    assert.deepEqual(
      summary.segments.map((s) => [s.name, s.entered]),
      [['recent-buyers', 1]],
    );
    assert.equal(summary.activation.outbox.sent, 1);
    assert.equal(receiver.ids.size, 1);
    assert.equal((await cycle(at(3 * HOUR), server.keys.read)).status, 403);
    const full = (await (await cycle(at(3 * HOUR), server.keys.admin, true)).json()) as {
      features: { mode: string };
      segmentRefresh: { mode: string };
    };
    assert.equal(full.features.mode, 'full');
    assert.equal(full.segmentRefresh.mode, 'full');
  } finally {
    await server.close();
    await receiver.close();
  }
});
