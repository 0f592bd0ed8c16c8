// Findings of issue 24 where the first hour gave silent wrong answers: zeros without a word, a funnel that vanished,
// and a refused refresh that left a snapshot behind.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { segflowHere } from '../helpers/cli-in-process.js';
import { tempDir } from '../helpers/temp.js';

/** A shop whose data end in January 2026: two buyers, a browser, one segment. */
async function januaryProject(config = ''): Promise<string> {
  const dir = tempDir('segflow-zeros-');
  const day = (d: number, h = 10) =>
    `2026-01-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:00:00Z`;
  const messages = [
    { type: 'track', userId: 'ann', event: 'Product Viewed', timestamp: day(3) },
    { type: 'track', userId: 'ann', event: 'Product Added', timestamp: day(3, 11) },
    { type: 'track', userId: 'ann', event: 'Checkout Started', timestamp: day(3, 12) },
    {
      type: 'track',
      userId: 'ann',
      event: 'Order Completed',
      properties: { revenue: 30 },
      timestamp: day(3, 13),
    },
    {
      type: 'track',
      userId: 'bob',
      event: 'Order Completed',
      properties: { revenue: 12 },
      timestamp: day(20),
    },
    { type: 'track', userId: 'cy', event: 'Signed Up', timestamp: day(25) },
  ];
  writeFileSync(join(dir, 'events.ndjson'), messages.map((m) => JSON.stringify(m)).join('\n'));
  mkdirSync(join(dir, 'segments'));
  writeFileSync(
    join(dir, 'segments', 'buyers.yaml'),
    'name: buyers\nwhere:\n  performed: { event: Order Completed, within: 30d }\n',
  );
  writeFileSync(join(dir, 'segflow.config.yaml'), `db: ./segflow.duckdb\n${config}`);
  const r = await segflowHere(['import', 'events.ndjson', '--json'], dir);
  assert.equal(r.status, 0, r.stderr);
  return dir;
}

const json = (r: { stdout: string }) =>
  JSON.parse(r.stdout) as { warnings?: string[] } & Record<string, unknown>;

test('as of now with data that ended months earlier: preview, refresh, report funnel and features say when the data end', async () => {
  const dir = await januaryProject();
  for (const args of [
    ['segments', 'preview', 'buyers'],
    ['refresh'],
    ['report', 'funnel', 'purchase'],
    ['report', 'rfm'],
    ['features', 'ann'],
  ]) {
    const r = await segflowHere([...args, '--json'], dir);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    const warnings = json(r).warnings ?? [];
    assert.equal(warnings.length, 1, `${args.join(' ')}: ${JSON.stringify(warnings)}`);
    assert.match(warnings[0]!, /^the data end at 2026-01-25T10:00:00\.000Z, \d+ days before /);
    assert.match(r.stderr, /^warning: the data end at 2026-01-25/m, 'one line on stderr');
  }
  // Within the data: nothing to warn about.
  const inside = await segflowHere(['segments', 'preview', 'buyers', '--as-of', '2026-01-26', '--json'], dir);
  assert.deepEqual(json(inside).warnings, []);
  assert.equal(json(inside).size, 2);
});

test('report funnel purchase with nobody in its first step: a row of zeros and a warning, not a blank line', async () => {
  const dir = await januaryProject(
    'model:\n  funnels:\n    purchase: { steps: [Cart Viewed, Order Completed] }\n',
  );
  const text = await segflowHere(['report', 'funnel', 'purchase', '--as-of', '2026-01-26'], dir);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /Cart Viewed\s+0/);
  assert.match(text.stderr, /warning: nobody performed 'Cart Viewed'/);
  const r = json(
    await segflowHere(['report', 'funnel', 'purchase', '--as-of', '2026-01-26', '--json'], dir),
  ) as {
    rows: { steps: { people: number }[] }[];
    warnings: string[];
  };
  assert.deepEqual(
    r.rows.map((row) => row.steps.map((s) => s.people)),
    [[0, 0]],
  );
  assert.match(r.warnings[0]!, /nobody performed 'Cart Viewed'/);
});

test('model.funnels.trial adds to the default purchase funnel instead of replacing it', async () => {
  const dir = await januaryProject(
    'model:\n  funnels:\n    trial: { steps: [Signed Up, Order Completed], within: 14d }\n',
  );
  const purchase = await segflowHere(
    ['report', 'funnel', 'purchase', '--as-of', '2026-01-26', '--json'],
    dir,
  );
  assert.equal(purchase.status, 0, purchase.stderr);
  const steps = (json(purchase) as { rows: { steps: { step: string; people: number }[] }[] }).rows[0]!.steps;
  assert.deepEqual(
    steps.map((s) => [s.step, s.people]),
    [
      ['Product Viewed', 1],
      ['Product Added', 1],
      ['Checkout Started', 1],
      ['Order Completed', 1],
    ],
  );
  const trial = await segflowHere(['report', 'funnel', 'trial', '--as-of', '2026-01-26', '--json'], dir);
  assert.equal(trial.status, 0, trial.stderr);
  assert.equal((json(trial) as { rows: { steps: { people: number }[] }[] }).rows[0]!.steps[0]!.people, 1);
});

test('refresh --as-of before the last refresh fails and leaves no features snapshot behind', async () => {
  const dir = await januaryProject();
  assert.equal((await segflowHere(['refresh', '--as-of', '2026-01-26'], dir)).status, 0);
  const back = await segflowHere(['refresh', '--as-of', '2026-01-10', '--json'], dir);
  assert.equal(back.status, 2);
  assert.match(back.stderr, /history only moves forward/);
  const snapshots = await segflowHere(
    ['sql', 'SELECT DISTINCT as_of FROM features ORDER BY 1', '--json'],
    dir,
  );
  assert.deepEqual(
    (JSON.parse(snapshots.stdout) as { rows: { as_of: string }[] }).rows.map((r) => r.as_of),
    ['2026-01-26T00:00:00.000Z'],
  );
});
