import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createRng } from '../../src/generate/random.js';
import { segflow } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

describe('segflow models fit propensity --model', () => {
  const dir = tempDir();

  test('auto reports both candidates and picks trees on an interaction; gbt reports gain importance', () => {
    // Churn when exactly one of two thresholds is crossed (XOR), with a categorical column and a blank-laden number.
    const rng = createRng(8, 0);
    const rows = ['region,a,b,spend,churned'];
    for (let i = 0; i < 2500; i++) {
      const a = rng.normal();
      const b = rng.normal();
      const p = a > 0 !== b > 0.5 ? 0.85 : 0.1;
      const spend = i % 10 === 0 ? ' ' : rng.normal().toFixed(3);
      rows.push(`${['north', 'south', 'east'][i % 3]},${a},${b},${spend},${rng.chance(p) ? 'Yes' : 'No'}`);
    }
    const file = join(dir, 'xor.csv');
    writeFileSync(file, `${rows.join('\n')}\n`);
    const db = join(dir, 'x.duckdb');
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
    assert.equal(f.options.model, 'auto');
    assert.equal(f.params.kind, 'gbt');
    assert.equal(f.diagnostics.choice.chosen, 'gbt');
    assert.ok(f.diagnostics.choice.crossValidatedAuc.gbt > f.diagnostics.choice.crossValidatedAuc.logistic);
    assert.deepEqual(Object.keys(f.diagnostics.candidates).sort(), ['gbt', 'logistic']);
    assert.ok(f.diagnostics.candidates.gbt.auc > f.diagnostics.candidates.logistic.auc);

    const report = segflow(['--db', db, 'models', 'report', 'propensity']);
    assert.equal(report.status, 0, report.stderr);
    assert.match(
      report.stdout,
      /model {7}gradient-boosted trees \(auto: 5-fold cross-validated AUC logistic 0\.\d{4}, trees 0\.\d{4}\)/,
    );
    assert.match(report.stdout, /test AUC {4}gbt 0\.\d{4}, logistic 0\.\d{4} \(not used to choose\)/);
    assert.match(report.stdout, /feature importance \(share of the trees' total split gain/);
    assert.match(report.stdout, /spend +numeric; \d+ missing → median/);
    assert.match(report.stdout, /region +categorical, 3 levels one-hot/);

    const logistic = segflow([
      '--db',
      db,
      'models',
      'fit',
      'propensity',
      '--file',
      file,
      '--label',
      'churned',
      '--model',
      'logistic',
      '--json',
    ]);
    assert.equal(logistic.status, 0, logistic.stderr);
    assert.equal(JSON.parse(logistic.stdout).params.kind, 'logistic');
    const bad = segflow([
      '--db',
      db,
      'models',
      'fit',
      'propensity',
      '--file',
      file,
      '--label',
      'churned',
      '--model',
      'forest',
    ]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /unknown --model 'forest'/);
  });
});
