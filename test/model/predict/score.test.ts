import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Warehouse } from '../../../src/engine/warehouse.js';
import { bgnbdProbabilityAlive } from '../../../src/model/predict/bgnbd.js';
import { customerLifetimeValue } from '../../../src/model/predict/clv.js';
import { fitPurchaseModel, getModelFit, type StoredFit } from '../../../src/model/predict/model-fits.js';
import { scorePredictions } from '../../../src/model/predict/score.js';
import { CDNOW_WINDOW, cdnowHistories, cdnowWarehouse } from '../../helpers/cdnow.js';
import { CDNOW_SAMPLE } from '../../helpers/temp.js';

const OPTIONS = {
  purchases: { events: ['Order Completed'] },
  window: CDNOW_WINDOW,
  timeUnit: 'weeks' as const,
};

describe('stored fits and predictions on the CDNOW sample', () => {
  let wh: Warehouse;
  let bg: StoredFit;
  let gg: StoredFit;
  before(async () => {
    wh = await cdnowWarehouse(CDNOW_SAMPLE);
    await assert.rejects(getModelFit(wh, { model: 'bgnbd' }), { code: 'MODEL_NOT_FITTED' });
    bg = await fitPurchaseModel(wh, { model: 'bgnbd', ...OPTIONS });
    gg = await fitPurchaseModel(wh, { model: 'gammagamma', ...OPTIONS });
  });
  after(() => wh.close());

  test('the last fit is read back with its window, unit, parameters and diagnostics', async () => {
    const again = await getModelFit(wh, { model: 'bgnbd' });
    assert.deepEqual(again, bg);
    assert.equal(again.timeUnit, 'weeks');
    assert.equal(again.options.end, '1997-10-01T00:00:00.000Z');
    assert.equal((again.logLikelihood ?? 0).toFixed(1), '-9582.4');
    const d = again.diagnostics as {
      calibration: { actualRepeatPurchases: number };
      frequency: { actualPeople: number; expectedPeople: number }[];
      holdout: { actualPurchases: number; length: number };
    };
    const file = cdnowHistories(CDNOW_SAMPLE);
    assert.equal(
      d.calibration.actualRepeatPurchases,
      file.reduce((s, h) => s + h.x, 0),
    );
    assert.equal(
      d.holdout.actualPurchases,
      file.reduce((s, h) => s + h.holdout, 0),
    );
    assert.equal(d.holdout.length, 39);
    // The expected frequency histogram is a distribution over the same people.
    const expected = d.frequency.reduce((s, r) => s + r.expectedPeople, 0);
    assert.ok(Math.abs(expected - 2357) < 1e-6);
    assert.equal(
      d.frequency.reduce((s, r) => s + r.actualPeople, 0),
      2357,
    );
  });

  test('Gamma-Gamma diagnostics: the frequency/value correlation the lifetimes docs report', () => {
    // lifetimes docs, Quickstart, "The Gamma-Gamma model and the independence assumption": corr = 0.113884 (on m
    // rounded to cents, hence two digits here).
    const d = gg.diagnostics as { frequencyValueCorrelation: number; meanObservedOrderValue: number };
    assert.equal(d.frequencyValueCorrelation.toFixed(2), '0.11');
    // lifetimes docs: "Average profit: 35.078551797" over the repeat customers.
    assert.equal(d.meanObservedOrderValue.toFixed(2), '35.08');
  });

  test('scoring writes one row per person, the same numbers as the library functions', async () => {
    const clv = {
      horizon: { value: 12, unit: 'months' as const },
      discount: { rate: 0.01, per: 'months' as const },
    };
    const s = await scorePredictions(wh, {
      asOf: CDNOW_WINDOW.end,
      horizon: { value: 39, unit: 'weeks' },
      clv,
    });
    assert.equal(s.people, 2357);
    assert.equal(s.bgnbdFit, bg.id);
    // Scoring again as of the same time replaces, never duplicates.
    await scorePredictions(wh, { asOf: CDNOW_WINDOW.end, horizon: { value: 39, unit: 'weeks' }, clv });
    const [count] = await wh.query<{ n: number }>('SELECT count(*) AS n FROM predictions');
    assert.equal(Number(count!.n), 2357);

    const rows = await wh.query<{
      person_id: string;
      p_alive: number;
      expected_purchases: number;
      expected_order_value: number;
      clv: number;
      purchases_horizon: string;
    }>('SELECT * FROM predictions');
    const byId = new Map(rows.map((r) => [r.person_id, r]));
    // Customer 1 of the sample (master id 00004): Hardie's E[Y(39) | 2, 30.43, 38.86] = 1.226 (note 004).
    assert.equal(byId.get('00004')!.expected_purchases.toFixed(3), '1.226');
    assert.equal(byId.get('00004')!.purchases_horizon, '39 weeks');
    const model = {
      params: bg.params as { r: number; alpha: number; a: number; b: number },
      timeUnit: 'weeks' as const,
    };
    const ggParams = gg.params as { p: number; q: number; gamma: number };
    for (const h of cdnowHistories(CDNOW_SAMPLE).slice(0, 200)) {
      const row = byId.get(h.customerId)!;
      assert.ok(Math.abs(row.p_alive - bgnbdProbabilityAlive(model, h)) < 1e-12, h.customerId);
      const expectedClv = customerLifetimeValue({
        bgnbd: model,
        gammaGamma: ggParams,
        history: h,
        options: clv,
      });
      assert.ok(Math.abs(row.clv / expectedClv - 1) < 1e-9, `${h.customerId}: ${row.clv} vs ${expectedClv}`);
    }
  });
});
