import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SegflowError } from '../../src/errors.js';
import { meanLift, proportionLift, ratioLift } from '../../src/measure/lift.js';

/** Rounds like the published vectors: to `digits` decimals. */
function round(x: number, digits = 5): number {
  return Number(x.toFixed(digits));
}

function assertStatsError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: SegflowError) => {
    assert.equal(e.code, 'STATS_INPUT_INVALID');
    assert.match(e.message, message);
    assert.ok(e.hint && e.hint.length > 0, 'every input error says how to fix it');
    return true;
  });
}

// GrowthBook's frequentist engine test vectors: growthbook/growthbook, packages/stats/tests/frequentist/test_tests.py,
// class TestTwoSidedTTest (tests test_two_sided_ttest, test_two_sided_ttest_absolute, test_two_sided_ttest_binom),
// asserted there to 5 decimals. Inputs are SampleMeanStatistic(sum, sum_squares, n) and ProportionStatistic(sum, n).
const CONTROL = { n: 3407, sum: 1396.87, sumSquares: 52377.9767 };
const TREATMENT = { n: 3461, sum: 2422.7, sumSquares: 134698.29 };

describe('lift of a mean (GrowthBook vectors)', () => {
  const r = meanLift({ control: CONTROL, treatment: TREATMENT });

  it('per-arm n, mean and variance come from n, sum and sum of squares', () => {
    // 1396.87 / 3407 = 0.41 and (52377.9767 − 1396.87²/3407)/3406 = 3.9² (the original vector's stddev).
    assert.deepEqual([r.control.n, round(r.control.mean), round(r.control.variance)], [3407, 0.41, 15.21]);
    assert.deepEqual(
      [r.treatment.n, round(r.treatment.mean), round(r.treatment.variance)],
      [3461, 0.7, 38.44],
    );
  });

  it('relative lift 0.70732, CI (−0.03526, 1.44989), p 0.06191', () => {
    const rel = r.relative!;
    assert.equal(round(rel.estimate), 0.70732);
    assert.equal(round(rel.standardError), 0.37879);
    assert.deepEqual([round(rel.ci.lower), round(rel.ci.upper)], [-0.03526, 1.44989]);
    assert.equal(round(rel.pValue), 0.06191);
    assert.equal(rel.significant, false);
  });

  it('absolute lift 0.29, CI (0.04538, 0.53462), p 0.02016', () => {
    const abs = r.absolute;
    assert.equal(round(abs.estimate), 0.29);
    assert.equal(round(abs.standardError), 0.12478);
    assert.deepEqual([round(abs.ci.lower), round(abs.ci.upper)], [0.04538, 0.53462]);
    assert.equal(round(abs.pValue), 0.02016);
    assert.equal(abs.significant, true);
    assert.equal(r.confidenceLevel, 0.95);
  });

  it('proportions 14/28 vs 16/30: relative CI (−0.47767, 0.61101), p 0.80707', () => {
    const p = proportionLift({ control: { n: 28, conversions: 14 }, treatment: { n: 30, conversions: 16 } });
    const rel = p.relative!;
    assert.equal(round(rel.estimate), round((16 / 30 - 0.5) / 0.5));
    assert.equal(round(rel.standardError), 0.2717);
    assert.deepEqual([round(rel.ci.lower), round(rel.ci.upper)], [-0.47767, 0.61101]);
    assert.equal(round(rel.pValue), 0.80707);
    // A proportion's per-person variance is p(1 − p), not the n − 1 sample variance.
    assert.equal(p.control.variance, 0.25);
  });
});

describe('lift of a mean against an independent implementation', () => {
  // Welch's t-test by scipy 1.17.1 on these raw values:
  // scipy.stats.ttest_ind(t, c, equal_var=False) → statistic 1.2110588630629706, pvalue 0.2407935774068845,
  // df 18.90718757131258, confidence_interval(0.95) = (−1.7077904387875091, 6.394154075151146).
  const c = [3, 0, 0, 12.5, 7, 0, 1, 4, 0, 2.25];
  const t = [5, 0, 9, 14, 2, 0, 0, 8, 6.5, 11, 3];
  const sums = (xs: number[]) => ({
    n: xs.length,
    sum: xs.reduce((s, x) => s + x, 0),
    sumSquares: xs.reduce((s, x) => s + x * x, 0),
  });

  it("matches scipy's Welch test: estimate, degrees of freedom, interval and p-value", () => {
    const r = meanLift({ control: sums(c), treatment: sums(t) });
    assert.ok(Math.abs(r.degreesOfFreedom - 18.90718757131258) < 1e-9);
    assert.ok(Math.abs(r.absolute.estimate / r.absolute.standardError - 1.2110588630629706) < 1e-12);
    assert.ok(Math.abs(r.absolute.pValue - 0.2407935774068845) < 1e-12);
    assert.ok(Math.abs(r.absolute.ci.lower - -1.7077904387875091) < 1e-10);
    assert.ok(Math.abs(r.absolute.ci.upper - 6.394154075151146) < 1e-10);
  });

  it('a 90 % interval is narrower than the 95 % one and sits inside it', () => {
    const r95 = meanLift({ control: sums(c), treatment: sums(t) });
    const r90 = meanLift({ control: sums(c), treatment: sums(t), alpha: 0.1 });
    assert.equal(r90.confidenceLevel, 0.9);
    assert.ok(r90.absolute.ci.lower > r95.absolute.ci.lower && r90.absolute.ci.upper < r95.absolute.ci.upper);
    assert.equal(r90.absolute.pValue, r95.absolute.pValue);
  });
});

describe('lift of a ratio metric (delta method)', () => {
  // Per-person orders (denominator) and revenue (numerator) in two arms.
  const control = {
    m: [20, 0, 35, 12, 0, 60, 8, 15, 0, 22, 41, 5],
    d: [1, 0, 2, 1, 0, 3, 1, 1, 0, 1, 2, 1],
  };
  const treatment = {
    m: [25, 18, 0, 40, 9, 70, 0, 14, 33, 27, 12, 0, 55],
    d: [1, 1, 0, 2, 1, 3, 0, 1, 2, 1, 1, 0, 2],
  };
  const aggregate = (arm: { m: number[]; d: number[] }) => ({
    n: arm.m.length,
    numerator: { sum: sum(arm.m), sumSquares: sum(arm.m.map((x) => x * x)) },
    denominator: { sum: sum(arm.d), sumSquares: sum(arm.d.map((x) => x * x)) },
    sumProducts: sum(arm.m.map((x, i) => x * arm.d[i]!)),
  });
  function sum(xs: number[]): number {
    return xs.reduce((s, x) => s + x, 0);
  }
  /** The delta-method variance of Σm/Σd, written out from per-person values with two-pass moments. */
  function deltaVariance(arm: { m: number[]; d: number[] }): { ratio: number; variance: number } {
    const n = arm.m.length;
    const mm = sum(arm.m) / n;
    const md = sum(arm.d) / n;
    let vm = 0;
    let vd = 0;
    let cov = 0;
    for (let i = 0; i < n; i++) {
      vm += (arm.m[i]! - mm) ** 2;
      vd += (arm.d[i]! - md) ** 2;
      cov += (arm.m[i]! - mm) * (arm.d[i]! - md);
    }
    vm /= n - 1;
    vd /= n - 1;
    cov /= n - 1;
    // Var(M̄/D̄) ≈ (1/n)·(vm/md² − 2·cov·mm/md³ + vd·mm²/md⁴)
    return { ratio: mm / md, variance: vm / md ** 2 - (2 * cov * mm) / md ** 3 + (vd * mm ** 2) / md ** 4 };
  }

  it('per-arm ratio and delta-method variance equal a direct computation from per-person values', () => {
    const r = ratioLift({ control: aggregate(control), treatment: aggregate(treatment) });
    for (const [arm, raw] of [
      [r.control, control],
      [r.treatment, treatment],
    ] as const) {
      const expected = deltaVariance(raw);
      assert.ok(Math.abs(arm.mean - expected.ratio) < 1e-12);
      assert.ok(Math.abs(arm.variance - expected.variance) < 1e-9 * expected.variance);
    }
    const expectedAbsolute = deltaVariance(treatment).ratio - deltaVariance(control).ratio;
    assert.ok(Math.abs(r.absolute.estimate - expectedAbsolute) < 1e-12);
  });

  it('with a denominator of 1 for everyone, a ratio is a mean and both give the same lift', () => {
    const ones = (n: number) => Array.from({ length: n }, () => 1);
    const r = ratioLift({
      control: aggregate({ m: control.m, d: ones(control.m.length) }),
      treatment: aggregate({ m: treatment.m, d: ones(treatment.m.length) }),
    });
    const m = meanLift({
      control: { n: control.m.length, sum: sum(control.m), sumSquares: sum(control.m.map((x) => x * x)) },
      treatment: {
        n: treatment.m.length,
        sum: sum(treatment.m),
        sumSquares: sum(treatment.m.map((x) => x * x)),
      },
    });
    assert.ok(Math.abs(r.absolute.pValue - m.absolute.pValue) < 1e-12);
    assert.ok(Math.abs(r.relative!.ci.upper - m.relative!.ci.upper) < 1e-12);
  });

  it('refuses a cross-product sum that does not belong with the sums of squares', () => {
    const bad = { ...aggregate(control), sumProducts: 10_000 };
    assertStatsError(() => ratioLift({ control: bad, treatment: aggregate(treatment) }), /correlation/);
  });
});

describe('lift input errors say how to fix the input', () => {
  it('a sum of squares too small for n and sum (negative variance)', () => {
    // Σx² can never be below (Σx)²/n = 1396.87²/3407 ≈ 572.7.
    assertStatsError(
      () => meanLift({ control: { n: 3407, sum: 1396.87, sumSquares: 500 }, treatment: TREATMENT }),
      /control: the sum of squares 500 is smaller than sum²\/n/,
    );
  });

  it('fewer than two people, conversions above n, non-numbers, alpha outside (0, 1)', () => {
    assertStatsError(
      () => meanLift({ control: { n: 1, sum: 1, sumSquares: 1 }, treatment: TREATMENT }),
      /at least 2/,
    );
    assertStatsError(
      () => proportionLift({ control: { n: 10, conversions: 11 }, treatment: { n: 10, conversions: 3 } }),
      /between 0 and n = 10/,
    );
    assertStatsError(
      () => meanLift({ control: { n: 10, sum: Number.NaN, sumSquares: 1 }, treatment: TREATMENT }),
      /finite number/,
    );
    assertStatsError(() => meanLift({ control: CONTROL, treatment: TREATMENT, alpha: 5 }), /alpha/);
  });

  it('no variance in either arm: nothing to test', () => {
    assertStatsError(
      () => proportionLift({ control: { n: 50, conversions: 0 }, treatment: { n: 60, conversions: 0 } }),
      /both arms have zero variance/,
    );
  });

  it('identical values leave a rounding-level negative variance, which counts as zero', () => {
    // 0.1 + 0.1 + 0.1 and 3 × 0.01 do not cancel exactly in floating point.
    const r = meanLift({
      control: { n: 3, sum: 0.1 + 0.1 + 0.1, sumSquares: 0.01 + 0.01 + 0.01 },
      treatment: { n: 4, sum: 1, sumSquares: 0.5 },
    });
    assert.equal(r.control.variance, 0);
  });

  it('a control mean of 0 has no relative lift, and the result says why', () => {
    const r = meanLift({
      control: { n: 5, sum: 0, sumSquares: 10 },
      treatment: { n: 5, sum: 3, sumSquares: 9 },
    });
    assert.equal(r.relative, null);
    assert.match(r.notes.join(' '), /control mean is 0/);
  });
});
