import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runPlayExperiment } from '../../src/demo/play-experiment.js';
import { openWarehouse } from '../../src/engine/open.js';
import { writeGeneratedFiles } from '../../src/generate/index.js';
import { importFile } from '../../src/instrument/import/import-file.js';
import { tempDir } from '../helpers/temp.js';

test('end to end: a play with a 10% holdout whose treatment causes a known lift; the interval contains it', async () => {
  const dir = tempDir();
  const out = join(dir, 'shop.ndjson');
  await writeGeneratedFiles({ people: 3000, days: 60, seed: 8, profile: 'ecommerce', out });
  const wh = await openWarehouse({ path: ':memory:' });
  try {
    await importFile(wh, { path: out, rejectsPath: null });
    const x = await runPlayExperiment(wh, {
      start: new Date('2026-01-31T00:00:00Z'),
      windowDays: 14,
      uplift: 0.4,
      value: 60,
    });
    const { report } = x;
    assert.ok(x.delivered > 1000, `${x.delivered} messages delivered`);
    assert.ok(x.caused > 300, `${x.caused} purchases caused`);
    assert.equal(report.srm?.flagged, false);
    const holdout = report.arms.find((a) => a.arm === 'holdout')!.people;
    const all = report.arms.reduce((s, a) => s + a.people, 0);
    assert.ok(holdout / all > 0.07 && holdout / all < 0.13, `holdout share ${holdout / all}`);
    const revenue = report.rows.find((r) => r.kpi === 'revenue_per_person')!;
    const ci = revenue.lift!.absolute.ci;
    assert.ok(
      ci.lower < x.trueRevenueLift && x.trueRevenueLift < ci.upper,
      `${x.trueRevenueLift} in (${ci.lower}, ${ci.upper})`,
    );
    assert.ok(revenue.lift!.absolute.pValue < 0.05, 'the lift is detected');
    const cuped = revenue.cuped!.absolute.ci;
    assert.ok(cuped.lower < x.trueRevenueLift && x.trueRevenueLift < cuped.upper, 'CUPED too');
  } finally {
    await wh.close();
  }
});
