import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { IN_APP_PLAY, runInAppExperiment } from '../../src/demo/in-app-experiment.js';
import { openWarehouse } from '../../src/engine/open.js';
import { writeGeneratedFiles } from '../../src/generate/index.js';
import { reviewSegments } from '../../src/govern/segment-review.js';
import { importFile } from '../../src/instrument/import/import-file.js';
import { tempDir } from '../helpers/temp.js';

test('end to end: an in-app play (decide() only) with a 10% holdout; exposures from decisions give a lift interval holding the true effect', async () => {
  const dir = tempDir();
  const out = join(dir, 'shop.ndjson');
  await writeGeneratedFiles({ people: 3000, days: 60, seed: 11, profile: 'ecommerce', out });
  const wh = await openWarehouse({ path: ':memory:' });
  try {
    await importFile(wh, { path: out, rejectsPath: null });
    const x = await runInAppExperiment(wh, {
      start: new Date('2026-01-31T00:00:00Z'),
      windowDays: 14,
      uplift: 0.4,
      value: 60,
    });
    const { report } = x;
    // Three visits each, one exposure each: repeated decisions did not inflate the arms.
    const [stored] = await wh.query<{ n: number; people: number }>(
      'SELECT count(*) AS n, count(DISTINCT person_id) AS people FROM exposures WHERE play = ?',
      [IN_APP_PLAY],
    );
    assert.equal(Number(stored?.n), Number(stored?.people));
    assert.equal(Number(stored?.n), x.exposures);
    assert.equal(x.decisions, 3 * x.exposures);
    assert.ok(x.served > 1000, `${x.served} people shown the banner`);
    assert.ok(x.caused > 300, `${x.caused} purchases caused`);
    assert.ok(report.srm, 'the holdout share is known from the recorded play');
    assert.equal(report.srm.flagged, false);
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
    // govern review sees the in-app play like any other: its exposures and its lift on the play's KPI (the built-in
    // revenue_per_person, over 30 days: read once every window has ended).
    const review = await reviewSegments(wh, { asOf: new Date('2026-03-10T00:00:00Z') });
    const play = review.find((r) => r.segment === 'app-browsers')?.plays.find((p) => p.play === IN_APP_PLAY);
    assert.equal(play?.exposed, x.exposures);
    assert.ok(play?.lift !== null && play?.lift !== undefined && play.lift > 0, `review lift ${play?.lift}`);
  } finally {
    await wh.close();
  }
});
