import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { segflow } from '../helpers/cli.js';
import { CDNOW_SAMPLE, tempDir } from '../helpers/temp.js';

/**
 * The dashboard's page parts from the CLI (each a library function, a route and a command): the lifecycle trend over
 * two refreshes, the spread of the scores, a person's timeline a page at a time, and deliveries per day.
 */
test('report lifecycle, report scores, persons events and deliveries daily, each with --json', () => {
  const dir = tempDir('segflow-cli-dashboard-');
  const db = join(dir, 'cli.duckdb');
  const json = <T>(args: string[]): T => {
    const r = segflow(['--db', db, ...args, '--json']);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return JSON.parse(r.stdout) as T;
  };
  json(['import', CDNOW_SAMPLE, '--preset', 'cdnow']);

  const before = json<{ asOf: string | null; trend: unknown[] }>(['report', 'lifecycle']);
  assert.deepEqual(before, { asOf: null, trend: [], tiers: [] });
  json(['refresh', '--as-of', '1998-01-01']);
  json(['refresh', '--as-of', '1998-07-01']);
  const lifecycle = json<{ asOf: string; trend: { asOf: string; people: number }[]; tiers: unknown[] }>([
    'report',
    'lifecycle',
  ]);
  assert.equal(lifecycle.asOf, '1998-07-01T00:00:00.000Z');
  const perRefresh = new Map<string, number>();
  for (const t of lifecycle.trend) perRefresh.set(t.asOf, (perRefresh.get(t.asOf) ?? 0) + t.people);
  // Everyone is in one stage at each refresh: 2,357 customers, both times.
  assert.deepEqual(
    [...perRefresh.entries()],
    [
      ['1998-01-01T00:00:00.000Z', 2357],
      ['1998-07-01T00:00:00.000Z', 2357],
    ],
  );
  assert.ok(lifecycle.tiers.length > 0);

  assert.equal(json<{ asOf: string | null }>(['report', 'scores']).asOf, null);
  json(['models', 'fit', 'bgnbd', '--from', '1997-01-01', '--to', '1997-09-30']);
  json(['models', 'fit', 'gammagamma', '--from', '1997-01-01', '--to', '1997-09-30']);
  const scored = json<{ people: number }>([
    'models',
    'score',
    '--as-of',
    '1998-07-01',
    '--horizon',
    '39 weeks',
    '--clv-horizon',
    '12 months',
  ]);
  const scores = json<{ people: number; pAlive: { people: number }[]; clv: { people: number }[] }>([
    'report',
    'scores',
  ]);
  assert.equal(scores.people, scored.people);
  assert.equal(
    scores.pAlive.reduce((n, b) => n + b.people, 0),
    scored.people,
  );
  assert.equal(
    scores.clv.reduce((n, b) => n + b.people, 0),
    scored.people,
  );

  const person = json<{ eventCount: number }>(['persons', 'show', '00004']);
  const first = json<{ total: number; events: { messageId: string; properties: object }[] }>([
    'persons',
    'events',
    '00004',
    '--page-size',
    '2',
  ]);
  const second = json<{ events: { messageId: string }[] }>([
    'persons',
    'events',
    '00004',
    '--page',
    '1',
    '--page-size',
    '2',
  ]);
  assert.equal(first.total, person.eventCount);
  assert.ok(first.total > 2);
  assert.equal(first.events.length, 2);
  assert.ok(!first.events.some((e) => second.events.some((f) => f.messageId === e.messageId)));
  assert.ok(first.events.every((e) => typeof e.properties === 'object'));

  assert.deepEqual(json(['deliveries', 'daily']), { days: [], dead: 0 });
});
