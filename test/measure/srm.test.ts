import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SegflowError } from '../../src/errors.js';
import { sampleRatioMismatch } from '../../src/measure/srm.js';

describe('sample-ratio mismatch', () => {
  it('[1000, 1100] at 50/50: chi-square 4.762, p 0.0291, not flagged', () => {
    // By hand: expected 1050 each, χ² = 50²/1050 + 50²/1050 = 4.7619…; P(χ²₁ > 4.7619) = 0.0291.
    const r = sampleRatioMismatch({ counts: [1000, 1100], weights: [0.5, 0.5] });
    assert.equal(r.chiSquare.toFixed(3), '4.762');
    assert.equal(r.pValue.toFixed(4), '0.0291');
    assert.equal(r.degreesOfFreedom, 1);
    assert.equal(r.flagged, false);
    assert.deepEqual(r.expectedCounts, [1050, 1050]);
  });

  it("reproduces GrowthBook's check_srm vector to 9 decimals", () => {
    // growthbook/growthbook packages/stats/tests/test_gbstats.py, test_srm:
    // check_srm([1000, 1200], [0.5, 0.5]) rounds to 0.000020079.
    const r = sampleRatioMismatch({ counts: [1000, 1200], weights: [0.5, 0.5] });
    assert.equal(r.pValue.toFixed(9), '0.000020079');
    assert.equal(r.flagged, true);
  });

  it('flags a 45/55 split of 10,000 planned as 50/50', () => {
    // χ² = 2 · 500²/5000 = 100 on 1 degree of freedom: p ≈ 1.5e-23.
    const r = sampleRatioMismatch({ counts: [4500, 5500] });
    assert.equal(r.chiSquare, 100);
    assert.ok(r.pValue < 1e-20);
    assert.equal(r.flagged, true);
  });

  it('honours unequal weights on any scale, and more than two arms', () => {
    // A 10 % holdout: 1,000 of 10,000 is exactly on plan, whether weights are given as shares or percentages.
    const onPlan = sampleRatioMismatch({ counts: [1000, 9000], weights: [10, 90] });
    assert.equal(onPlan.chiSquare, 0);
    assert.equal(onPlan.pValue, 1);
    const shares = sampleRatioMismatch({ counts: [1100, 8900], weights: [0.1, 0.9] });
    const percents = sampleRatioMismatch({ counts: [1100, 8900], weights: [10, 90] });
    assert.equal(shares.pValue, percents.pValue);
    // 100²/1000 + 100²/9000 = 11.11…: flagged at 0.001 (the critical value of χ²₁ is 10.83).
    assert.ok(Math.abs(shares.chiSquare - (10 + 10 / 9)) < 1e-9);
    assert.equal(shares.criticalValue.toFixed(2), '10.83');
    assert.equal(shares.flagged, true);
    // Three arms, hand-computed: expected 1000/2000/2000 against 1000/1950/2050 → χ² = 0 + 1.25 + 1.25 = 2.5 on 2 df;
    // P(χ²₂ > 2.5) = e^{−1.25}.
    const three = sampleRatioMismatch({ counts: [1000, 1950, 2050], weights: [1, 2, 2] });
    assert.ok(Math.abs(three.chiSquare - 2.5) < 1e-12);
    assert.ok(Math.abs(three.pValue - Math.exp(-1.25)) < 1e-12);
  });

  it('says how to fix bad input', () => {
    const cases: [Parameters<typeof sampleRatioMismatch>[0], RegExp][] = [
      [{ counts: [10] }, /at least two arms/],
      [{ counts: [10, -1] }, /whole numbers/],
      [{ counts: [10, 20], weights: [1] }, /1 weights for 2 arms/],
      [{ counts: [10, 20], weights: [1, 0] }, /positive/],
      [{ counts: [0, 0] }, /empty/],
    ];
    for (const [input, message] of cases)
      assert.throws(
        () => sampleRatioMismatch(input),
        (e: SegflowError) => e.code === 'STATS_INPUT_INVALID' && message.test(e.message) && Boolean(e.hint),
      );
  });
});
