import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { simulateChurnPanel } from '../../src/model/propensity/simulate-churn.js';
import { createRng } from '../../src/shared/seeded-random.js';
import { segflow } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

describe('segflow models: propensity', () => {
  const dir = tempDir();

  test('fit and score on your own feature table (CSV), with a backtest', async () => {
    // Known truth: logit p = −1 + 2·a − b; c is noise.
    const rng = createRng(3, 0);
    const rows = ['person_id,a,b,c,churned'];
    for (let i = 0; i < 4000; i++) {
      const a = rng.normal();
      const b = rng.normal();
      const p = 1 / (1 + Math.exp(-(-1 + 2 * a - b)));
      rows.push(`p${i},${a},${b},${rng.normal()},${rng.chance(p) ? 1 : 0}`);
    }
    const file = join(dir, 'mine.csv');
    writeFileSync(file, `${rows.join('\n')}\n`);
    const db = join(dir, 'file.duckdb');
    const fit = segflow([
      '--db',
      db,
      'models',
      'fit',
      'propensity',
      '--file',
      file,
      '--label',
      'churned',
      '--json',
    ]);
    assert.equal(fit.status, 0, fit.stderr);
    const f = JSON.parse(fit.stdout);
    assert.deepEqual(f.params.columns, ['a', 'b', 'c']);
    assert.ok(f.diagnostics.backtest.auc > 0.8, `AUC ${f.diagnostics.backtest.auc}`);
    assert.ok(f.diagnostics.backtest.people > 1000 && f.diagnostics.backtest.people < 1400, '30% test share');
    const report = segflow(['--db', db, 'models', 'report', 'propensity']);
    assert.equal(report.status, 0, report.stderr);
    assert.match(report.stdout, /AUC 0\.\d{4}/);
    assert.match(report.stdout, /calibration by decile/);
    const out = join(dir, 'scores.csv');
    const score = segflow([
      '--db',
      db,
      'models',
      'score',
      'propensity',
      '--file',
      file,
      '--out',
      out,
      '--json',
    ]);
    assert.equal(score.status, 0, score.stderr);
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    assert.equal(lines[0], 'person_id,probability');
    assert.equal(lines.length, 4001);
    const bad = segflow(['--db', db, 'models', 'fit', 'propensity', '--file', file, '--label', 'nope']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /no column 'nope'/);
  });

  test('churn on events: fit with snapshots, refuse a leaking split, score into segments’ predicted.*', async () => {
    const panel = simulateChurnPanel({ people: 1500, periods: 5, seed: 5 });
    const db = join(dir, 'churn.duckdb');
    const wh = await openWarehouse({ path: db });
    await ingestMessages(wh, panel.messages, { source: 'test' });
    await wh.close();
    const leak = segflow([
      '--db',
      db,
      'models',
      'fit',
      'churn',
      '--train-as-of',
      '2026-03-02,2026-04-20',
      '--test-as-of',
      '2026-05-01',
    ]);
    assert.notEqual(leak.status, 0);
    assert.match(leak.stderr, /learn from the test period/);
    const fit = segflow([
      '--db',
      db,
      'models',
      'fit',
      'churn',
      '--train-as-of',
      '2026-03-02,2026-04-01',
      '--test-as-of',
      '2026-05-01',
      '--horizon',
      '30d',
      '--json',
    ]);
    assert.equal(fit.status, 0, fit.stderr);
    assert.ok(JSON.parse(fit.stdout).diagnostics.backtest.auc > 0.6);
    const score = segflow(['--db', db, 'models', 'score', 'churn', '--as-of', '2026-05-31', '--json']);
    assert.equal(score.status, 0, score.stderr);
    assert.ok(JSON.parse(score.stdout).people > 100);
  });
});
