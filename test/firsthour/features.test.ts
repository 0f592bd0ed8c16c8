// Findings of issue 24 about `segflow features`: a person's features were shown as table columns (rfm_r), not the
// dotted names segments use (rfm.r), and `features --list` left out predicted.*, funnel.* and adoption.depth.* and
// cut its descriptions off.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { DEFAULT_DIALECT } from '../../src/engine/open.js';
import { FEATURE_CATALOG, featureSource, PREDICTED_CATALOG } from '../../src/model/feature-catalog.js';
import { segflowHere } from '../helpers/cli-in-process.js';
import { tempDir } from '../helpers/temp.js';

test('features PERSON shows the dotted names segments use, and each one is a feature a segment accepts', async () => {
  const dir = tempDir();
  const run = async (...args: string[]) => {
    const r = await segflowHere(args, dir);
    assert.equal(r.status, 0, `${args.join(' ')}\n${r.stderr}`);
    return r;
  };
  await run(
    'generate',
    '--people',
    '40',
    '--days',
    '60',
    '--seed',
    '5',
    '--profile',
    'saas',
    '--out',
    'ev.ndjson',
  );
  await run('import', 'ev.ndjson');
  const sql = async <T>(query: string) =>
    (JSON.parse((await run('sql', query, '--json')).stdout) as { rows: T[] }).rows;
  const [last] = await sql<{ t: string }>(
    "SELECT max(ts)::VARCHAR AS t FROM events WHERE event = 'Feature Used'",
  );
  const asOf = last!.t.slice(0, 10);
  await run('refresh', '--as-of', asOf);
  const ids = await sql<{ person_id: string }>(
    "SELECT person_id FROM features WHERE adoption_depth IS NOT NULL AND adoption_depth::VARCHAR <> '{}' LIMIT 1",
  );
  const id = ids[0]!.person_id;
  const human = (await run('features', id, '--as-of', asOf)).stdout;
  const names = human
    .split('\n')
    .slice(1)
    .map((l) => l.split(/\s+/)[0]!)
    .filter(Boolean);
  assert.ok(names.includes('rfm.recency_days') && names.includes('engagement.tier'), human);
  assert.ok(
    names.some((n) => n.startsWith('adoption.depth.')),
    human,
  );
  assert.ok(names.includes('funnel.purchase.step'), human);
  assert.ok(
    !names.some((n) => n.includes('_') && !n.includes('.')),
    `no bare column names: ${names.join(', ')}`,
  );
  const source = featureSource(DEFAULT_DIALECT);
  for (const n of names) assert.ok(source.column(n), `'${n}' is a feature a segment can use`);
  // And the JSON has them under `features`.
  const json = JSON.parse((await run('features', id, '--as-of', asOf, '--json')).stdout) as {
    features: Record<string, unknown>;
  };
  assert.deepEqual(Object.keys(json.features), names);
});

test('features --list is complete (predicted.*, funnel.* of configured funnels, adoption.depth.*) and not cut off', async () => {
  const dir = tempDir();
  writeFileSync(
    `${dir}/segflow.config.yaml`,
    'model:\n  funnels:\n    trial: { steps: [Trial Started, Subscribed] }\n',
  );
  const r = await segflowHere(['features', '--list'], dir);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  for (const e of [...FEATURE_CATALOG, ...PREDICTED_CATALOG]) {
    const line = lines.find((l) => l.startsWith(`${e.name} `));
    assert.ok(line, `${e.name} is listed`);
    assert.ok(line.endsWith(e.description), `${e.name}'s description is whole: ${line}`);
  }
  for (const name of [
    'adoption.depth.<feature>',
    'adoption.power_user.<feature>',
    'funnel.purchase.step',
    'funnel.purchase.abandoned',
    'funnel.trial.step',
    'funnel.trial.abandoned',
  ])
    assert.ok(
      lines.some((l) => l.startsWith(`${name} `)),
      `${name} is listed`,
    );
  const json = JSON.parse((await segflowHere(['features', '--list', '--json'], dir)).stdout) as {
    name: string;
  }[];
  assert.equal(json.length, lines.length);
});
