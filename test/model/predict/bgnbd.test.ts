import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Warehouse } from '../../../src/engine/warehouse.js';
import {
  type BgNbdFit,
  type BgNbdModel,
  bgnbdExpectedPurchases,
  bgnbdExpectedPurchasesFromStart,
  bgnbdLogLikelihood,
  bgnbdProbabilityAlive,
  bgnbdProbabilityOfPurchases,
  bgnbdPurchaseDistribution,
  fitBgNbd,
} from '../../../src/model/predict/bgnbd.js';
import { summarizePurchases } from '../../../src/model/predict/summarize.js';
import { CDNOW_WINDOW, cdnowHistories, cdnowWarehouse, sig } from '../../helpers/cdnow.js';
import { CDNOW_MASTER, CDNOW_SAMPLE } from '../../helpers/temp.js';

const weeks = (value: number) => ({ value, unit: 'weeks' as const });

/** The published CDNOW estimates (Fader, Hardie & Lee 2005, Marketing Science 24(2), section 4; also note 004). */
const PUBLISHED: BgNbdModel = { params: { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 }, timeUnit: 'weeks' };

describe('BG/NBD on the CDNOW sample (summaries in SQL from the cdnow preset import)', () => {
  let wh: Warehouse;
  let fit: BgNbdFit;
  let summaries: Awaited<ReturnType<typeof summarizePurchases>>;
  before(async () => {
    wh = await cdnowWarehouse(CDNOW_SAMPLE);
    summaries = await summarizePurchases(wh, {
      purchases: { events: ['Order Completed'], sameDayAsOne: true },
      window: CDNOW_WINDOW,
      timeUnit: 'weeks',
    });
    fit = fitBgNbd(summaries.rfm);
  });
  after(() => wh.close());

  test('the SQL summaries equal histories computed from the file itself', () => {
    const expected = new Map<string, number>();
    let holdout = 0;
    for (const h of cdnowHistories(CDNOW_SAMPLE)) {
      const key = `${h.x}|${h.tx.toFixed(9)}|${h.T.toFixed(9)}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
      holdout += h.holdout;
    }
    const actual = new Map<string, number>();
    const { x, tx, T, weight } = summaries.rfm;
    for (let i = 0; i < x.length; i++) {
      const key = `${x[i]}|${tx[i]!.toFixed(9)}|${T[i]!.toFixed(9)}`;
      actual.set(key, (actual.get(key) ?? 0) + weight[i]!);
    }
    assert.deepEqual(actual, expected);
    assert.equal(summaries.people, 2357);
    assert.equal(summaries.holdoutLength, 39);
    assert.equal(
      summaries.holdoutPurchases.reduce((a, b) => a + b, 0),
      holdout,
    );
  });

  test("one model's summaries alone are the same as that part of both, with the same counts", async () => {
    const options = {
      purchases: { events: ['Order Completed'], sameDayAsOne: true },
      window: CDNOW_WINDOW,
      timeUnit: 'weeks' as const,
    };
    const rfm = await summarizePurchases(wh, { ...options, only: 'rfm' });
    const monetary = await summarizePurchases(wh, { ...options, only: 'monetary' });
    // Rows come back in the engine's order: compare as sorted tuples.
    const tuples = (cols: Float64Array[]) =>
      Array.from(cols[0]!, (_, i) => cols.map((c) => c[i]!).join('|')).sort();
    const r = summaries.rfm;
    assert.deepEqual(
      tuples([rfm.rfm.x, rfm.rfm.tx, rfm.rfm.T, rfm.rfm.weight, rfm.holdoutPurchases]),
      tuples([r.x, r.tx, r.T, r.weight, summaries.holdoutPurchases]),
    );
    const m = summaries.monetary;
    assert.deepEqual(
      tuples([monetary.monetary.x, monetary.monetary.m, monetary.monetary.weight]),
      tuples([m.x, m.m, m.weight]),
    );
    assert.equal(rfm.monetary.x.length, 0);
    assert.equal(monetary.rfm.x.length, 0);
    for (const part of [rfm, monetary]) {
      assert.equal(part.people, summaries.people);
      assert.equal(part.repeatCustomers, summaries.repeatCustomers);
      assert.equal(part.repeatCustomersWithoutValue, summaries.repeatCustomersWithoutValue);
    }
  });

  test('estimates match the published r=0.243, α=4.414, a=0.793, b=2.426 to 3 significant digits', () => {
    // Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", section 4 (CDNOW sample, weeks).
    for (const k of ['r', 'alpha', 'a', 'b'] as const) {
      assert.equal(sig(fit.params[k]), sig(PUBLISHED.params[k]), `${k} = ${fit.params[k]}`);
    }
    assert.equal(fit.converged, true);
    assert.equal(fit.people, 2357);
  });

  test('log-likelihood is the published −9582.4', () => {
    // Same source: LL = −9582.4 at the maximum.
    assert.equal(fit.logLikelihood.toFixed(1), '-9582.4');
    // and the published (rounded) estimates give the same value to one decimal
    assert.equal(bgnbdLogLikelihood(summaries.rfm, PUBLISHED.params).toFixed(1), '-9582.4');
  });

  test('standard errors match the lifetimes documentation for the same data', () => {
    // lifetimes docs, Quickstart, `bgf.summary` on load_cdnow_summary(): se(coef) r 0.012557, alpha 0.378221,
    // a 0.185719, b 0.705345.
    const se = fit.standardErrors!;
    assert.equal(sig(se.r), sig(0.012557));
    assert.equal(sig(se.alpha), sig(0.378221));
    assert.equal(sig(se.a), sig(0.185719));
    assert.equal(sig(se.b), sig(0.705345));
  });

  test('grouped and one-row-per-person data give the same fit', () => {
    const people = cdnowHistories(CDNOW_SAMPLE);
    const ungrouped = fitBgNbd({
      timeUnit: 'weeks',
      x: Float64Array.from(people, (p) => p.x),
      tx: Float64Array.from(people, (p) => p.tx),
      T: Float64Array.from(people, (p) => p.T),
      weight: new Float64Array(people.length).fill(1),
    });
    assert.ok(summaries.rfm.x.length < people.length / 2, 'grouping shrinks the data');
    for (const k of ['r', 'alpha', 'a', 'b'] as const) {
      assert.ok(Math.abs(ungrouped.params[k] / fit.params[k] - 1) < 1e-5, k);
    }
    assert.ok(Math.abs(ungrouped.logLikelihood - fit.logLikelihood) < 1e-6);
  });

  test("conditional expectation for customer 1 is Hardie's 1.226", () => {
    // Fader, Hardie & Lee, "Implementing the BG/NBD Model for Customer Base Analysis in Excel" (note 004, bgnbd.xls):
    // x = 2, t_x = 30.43, T = 38.86 → E[Y(39) | x, t_x, T] = 1.226 (also asserted by lifetimes' test suite).
    const v = bgnbdExpectedPurchases(fit, { x: 2, tx: 30.43, T: 38.86 }, weeks(39));
    assert.equal(v.toFixed(3), '1.226');
  });

  test("E[X(t)] from the first purchase matches Hardie's spreadsheet", () => {
    // Note 004's bgnbd.xls, cumulative repeat sales per customer (as used in lifetimes' test suite).
    const times = [0.1429, 1.0, 3.0, 31.8571, 32.0, 78.0];
    const expected = [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576];
    times.forEach((t, i) => {
      const v = bgnbdExpectedPurchasesFromStart(fit, weeks(t));
      assert.ok(Math.abs(v - expected[i]!) < 5e-4, `t=${t}: ${v} vs ${expected[i]}`);
    });
  });
});

describe('BG/NBD predictions against worked examples', () => {
  test('expected purchases in the next week match the lifetimes documentation', () => {
    // lifetimes docs, Quickstart, "Ranking customers from best to worst": params from bgf.summary (r 0.242593,
    // alpha 4.413532, a 0.792886, b 2.425752), t = 1.
    const model: BgNbdModel = {
      params: { r: 0.242593, alpha: 4.413532, a: 0.792886, b: 2.425752 },
      timeUnit: 'weeks',
    };
    const rows: [number, number, number, number][] = [
      [18, 35.14, 35.86, 0.424877],
      [19, 34.0, 34.14, 0.474738],
      [17, 28.43, 28.86, 0.486526],
      [29, 37.71, 38.0, 0.662396],
      [26, 30.86, 31.0, 0.710623],
    ];
    for (const [x, tx, T, expected] of rows) {
      const v = bgnbdExpectedPurchases(model, { x, tx, T }, weeks(1));
      assert.ok(Math.abs(v - expected) < 5e-6, `x=${x}: ${v} vs ${expected}`);
    }
  });

  test('P(X(t) = n) matches the R package BTYD', () => {
    // BTYD reference manual, bgnbd.pmf examples with params (0.243, 4.414, 0.793, 2.426), as checked in lifetimes'
    // test suite: P(X(2)=10) = 1.07869e-07, P(X(39)=0) = 0.5737864, P(X(30)=n) for n = 11..20.
    assert.ok(Math.abs(bgnbdProbabilityOfPurchases(PUBLISHED, 10, weeks(2)) / 1.07869e-7 - 1) < 1e-4);
    assert.ok(Math.abs(bgnbdProbabilityOfPurchases(PUBLISHED, 0, weeks(39)) - 0.5737864) < 1e-7);
    const expected = [
      0.0019995214, 0.0015170236, 0.001163315, 0.0009003148, 0.0007023638, 0.0005517902, 0.0004361913,
      0.0003467171, 0.0002769613, 0.000222226,
    ];
    expected.forEach((p, i) => {
      const v = bgnbdProbabilityOfPurchases(PUBLISHED, 11 + i, weeks(30));
      assert.ok(Math.abs(v / p - 1) < 1e-6, `n=${11 + i}: ${v} vs ${p}`);
    });
  });

  test('P(X(t) = n) is a distribution whose mean is E[X(t)] (eq. 8 against eq. 9)', () => {
    for (const t of [1, 10, 39, 78]) {
      let total = 0;
      let mean = 0;
      for (let n = 0; n < 800; n++) {
        const p = bgnbdProbabilityOfPurchases(PUBLISHED, n, weeks(t));
        total += p;
        mean += n * p;
      }
      assert.ok(Math.abs(total - 1) < 1e-9, `t=${t}: Σ P = ${total}`);
      const e = bgnbdExpectedPurchasesFromStart(PUBLISHED, weeks(t));
      assert.ok(Math.abs(mean / e - 1) < 1e-8, `t=${t}: Σ n P = ${mean} vs E[X(t)] = ${e}`);
    }
  });

  test('the table of P(X(t) = n) built by recursion equals P(X(t) = n) from ln Γ, term by term', () => {
    const models: BgNbdModel[] = [
      PUBLISHED,
      // heavy buyers (r t / α large: the head passes ½ late), and fast dropouts with a long horizon in days
      { params: { r: 4.2, alpha: 0.9, a: 0.4, b: 7 }, timeUnit: 'weeks' },
      { params: { r: 0.05, alpha: 0.6, a: 2.5, b: 0.3 }, timeUnit: 'days' },
    ];
    for (const model of models) {
      for (const t of [0, 0.5, 1, 10, 39, 78, 365]) {
        const table = bgnbdPurchaseDistribution(model, weeks(t), 40);
        for (let n = 0; n < 40; n++) {
          const expected = bgnbdProbabilityOfPurchases(model, n, weeks(t));
          const diff = Math.abs(table[n]! - expected);
          assert.ok(
            diff <= 1e-10 * expected || diff < 1e-300,
            `r=${model.params.r} t=${t} n=${n}: ${table[n]} vs ${expected}`,
          );
        }
      }
    }
  });

  test('P(alive) equals the posterior computed by numerical integration over λ and p', () => {
    // Independent of the closed form (Fader, Hardie & Lee 2005 eq. 11 / Hardie's note 021): integrate the
    // likelihood of "still alive" and of "dropped out after the last purchase" against the Gamma and Beta priors.
    const { r, alpha, a, b } = PUBLISHED.params;
    const trapezoid = (f: (u: number) => number, lo: number, hi: number, steps = 20_000) => {
      const h = (hi - lo) / steps;
      let s = (f(lo) + f(hi)) / 2;
      for (let i = 1; i < steps; i++) s += f(lo + i * h);
      return s * h;
    };
    // ∫ λ^x e^{−λτ} Gamma(λ; r, α) dλ up to the constant α^r/Γ(r), with λ = e^s.
    const lambdaPart = (x: number, tau: number) =>
      trapezoid((s) => Math.exp((x + r) * s - Math.exp(s) * (alpha + tau)), -60, 8);
    // ∫ p^i (1−p)^j Beta(p; a, b) dp up to 1/B(a, b), with p = logistic(u).
    const pPart = (i: number, j: number) =>
      trapezoid(
        (u) => Math.exp(-(a + i) * Math.log1p(Math.exp(-u)) - (b + j) * Math.log1p(Math.exp(u))),
        -80,
        80,
      );
    for (const [x, tx, T] of [
      [1, 5, 38],
      [2, 30.43, 38.86],
      [7, 10, 39],
      [12, 38, 39],
    ] as const) {
      const alive = lambdaPart(x, T) * pPart(0, x);
      const dropped = lambdaPart(x, tx) * pPart(1, x - 1);
      const expected = alive / (alive + dropped);
      const v = bgnbdProbabilityAlive(PUBLISHED, { x, tx, T });
      assert.ok(Math.abs(v - expected) < 1e-7, `(${x}, ${tx}, ${T}): ${v} vs ${expected}`);
    }
    assert.equal(bgnbdProbabilityAlive(PUBLISHED, { x: 0, tx: 0, T: 39 }), 1);
  });

  test('heavy buyers neither overflow nor lose precision', () => {
    // The series behind eq. 10 overflows for large x in its textbook form (Fader & Hardie's "#NUM!" note).
    const h = { x: 2000, tx: 38.9, T: 39 };
    let previous = 0;
    for (const t of [1, 10, 52, 520]) {
      const v = bgnbdExpectedPurchases(PUBLISHED, h, weeks(t));
      assert.ok(Number.isFinite(v) && v > previous, `t=${t}: ${v}`);
      previous = v;
    }
    // Over a short time the expectation is P(alive) × the posterior mean rate (r+x)/(α+T) × t, to first order.
    const { r, alpha } = PUBLISHED.params;
    const shortTerm = bgnbdProbabilityAlive(PUBLISHED, h) * ((r + h.x) / (alpha + h.T)) * 0.01;
    assert.ok(Math.abs(bgnbdExpectedPurchases(PUBLISHED, h, weeks(0.01)) / shortTerm - 1) < 1e-3);
    assert.ok(bgnbdProbabilityAlive(PUBLISHED, { x: 2000, tx: 1, T: 39 }) < 1e-100);
  });

  test('durations are converted into the model unit', () => {
    const inDays: BgNbdModel = {
      params: { ...PUBLISHED.params, alpha: PUBLISHED.params.alpha * 7 },
      timeUnit: 'days',
    };
    const h = { x: 2, tx: 30.43, T: 38.86 };
    const weekly = bgnbdExpectedPurchases(PUBLISHED, h, weeks(39));
    const daily = bgnbdExpectedPurchases(inDays, { x: 2, tx: 30.43 * 7, T: 38.86 * 7 }, weeks(39));
    assert.ok(Math.abs(weekly - daily) < 1e-12);
    assert.ok(Math.abs(bgnbdExpectedPurchases(PUBLISHED, h, { value: 273, unit: 'days' }) - weekly) < 1e-12);
  });
});

describe('BG/NBD on the full CDNOW log', () => {
  test('fits 23,570 customers with finite, positive estimates', async () => {
    const wh = await cdnowWarehouse(CDNOW_MASTER);
    try {
      const s = await summarizePurchases(wh, {
        purchases: { events: ['Order Completed'] },
        window: CDNOW_WINDOW,
        timeUnit: 'weeks',
      });
      const fit = fitBgNbd(s.rfm);
      assert.equal(fit.people, 23_570);
      assert.equal(fit.converged, true);
      for (const v of Object.values(fit.params)) assert.ok(Number.isFinite(v) && v > 0);
      assert.ok(Number.isFinite(fit.logLikelihood));
      // The same model on the 1/10 sample and the whole log should tell a similar story.
      assert.ok(Math.abs(fit.params.r / PUBLISHED.params.r - 1) < 0.2);
    } finally {
      await wh.close();
    }
  });
});
