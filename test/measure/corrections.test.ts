import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SegflowError } from '../../src/errors.js';
import { benjaminiHochberg, correctPValues, holm } from '../../src/measure/corrections.js';

function rounded(xs: number[]): number[] {
  return xs.map((x) => Number(x.toFixed(10)));
}

describe('multiple-comparison corrections', () => {
  // Four KPIs read on one play, raw p-values in the order given.
  const p = [0.01, 0.04, 0.03, 0.005];

  it('Holm, worked by hand', () => {
    // Ascending: 0.005 (×4 = 0.02), 0.01 (×3 = 0.03), 0.03 (×2 = 0.06), 0.04 (×1 = 0.04 → running max 0.06).
    assert.deepEqual(rounded(holm(p)), [0.03, 0.06, 0.06, 0.02]);
    const r = correctPValues({ pValues: p, method: 'holm' });
    assert.deepEqual(r.significant, [true, false, false, true]);
  });

  it('Benjamini–Hochberg, worked by hand', () => {
    // Ascending with rank i: 0.005·4/1 = 0.02, 0.01·4/2 = 0.02, 0.03·4/3 = 0.04, 0.04·4/4 = 0.04;
    // running minimum from the largest down leaves them as they are.
    assert.deepEqual(rounded(benjaminiHochberg(p)), [0.02, 0.04, 0.04, 0.02]);
    const r = correctPValues({ pValues: p, method: 'benjamini-hochberg' });
    assert.deepEqual(r.significant, [true, true, true, true]);
  });

  it('Benjamini–Hochberg takes the running minimum from the top; Holm caps at 1', () => {
    // Ascending 0.01, 0.02, 0.025 (m = 3): 0.03, 0.03, 0.025 → running minimum from the top gives 0.025 for all.
    assert.deepEqual(rounded(benjaminiHochberg([0.025, 0.01, 0.02])), [0.025, 0.025, 0.025]);
    assert.deepEqual(rounded(holm([0.9, 0.6])), [1, 1]);
  });

  it('one p-value is left as it is; Holm is never below Benjamini–Hochberg', () => {
    assert.deepEqual(holm([0.03]), [0.03]);
    assert.deepEqual(benjaminiHochberg([0.03]), [0.03]);
    const many = [0.001, 0.2, 0.013, 0.04, 0.5, 0.0004, 0.07];
    const h = holm(many);
    const bh = benjaminiHochberg(many);
    h.forEach((x, i) => {
      assert.ok(x >= bh[i]! - 1e-15);
    });
  });

  it('refuses p-values outside [0, 1] and an empty list', () => {
    for (const bad of [[], [0.5, 1.2], [Number.NaN]])
      assert.throws(
        () => holm(bad),
        (e: SegflowError) => e.code === 'STATS_INPUT_INVALID' && Boolean(e.hint),
      );
  });
});
