import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chiSquareCdf,
  chiSquareQuantile,
  chiSquareSurvival,
  normalCdf,
  normalQuantile,
  regularizedBeta,
  studentTCdf,
  studentTQuantile,
  studentTSurvival,
} from '../../src/measure/distributions.js';
import { lnGamma } from '../../src/shared/special-functions.js';

/** |actual − expected| within a relative tolerance (absolute near 0). */
function close(actual: number, expected: number, rel = 1e-12, what = ''): void {
  const tol = rel * Math.max(1, Math.abs(expected));
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what}: got ${actual}, expected ${expected} (|Δ| = ${Math.abs(actual - expected)} > ${tol})`,
  );
}

/** Relative closeness for tail probabilities, which can be tiny. */
function closeRel(actual: number, expected: number, rel: number, what = ''): void {
  assert.ok(
    Math.abs(actual - expected) <= rel * Math.abs(expected),
    `${what}: got ${actual}, expected ${expected} (relative error ${Math.abs(actual - expected) / Math.abs(expected)})`,
  );
}

describe('special functions', () => {
  it('log Γ matches factorials and Γ(½) = √π', () => {
    for (let n = 1; n <= 20; n++) {
      let factorial = 1;
      for (let k = 2; k < n; k++) factorial *= k;
      close(lnGamma(n), Math.log(factorial), 1e-13, `lnΓ(${n})`);
    }
    close(lnGamma(0.5), 0.5 * Math.log(Math.PI), 1e-14, 'lnΓ(½)');
    close(lnGamma(0.1), Math.log(9.513507698668732), 1e-13, 'lnΓ(0.1)'); // Γ(0.1), A&S table 6.1
  });

  it('the incomplete beta has the closed forms I_x(a, 1) = x^a and I_x(1, b) = 1 − (1 − x)^b', () => {
    for (const [a, x] of [
      [0.5, 0.3],
      [3, 0.9],
      [17.5, 0.97],
    ] as const) {
      close(regularizedBeta(a, 1, x), x ** a, 1e-13, `I_${x}(${a}, 1)`);
      close(regularizedBeta(1, a, x), 1 - (1 - x) ** a, 1e-13, `I_${x}(1, ${a})`);
    }
  });
});

describe('normal distribution', () => {
  it('reproduces its textbook quantiles and is symmetric', () => {
    // z values every statistics table prints: 1.959964 (95 % two-sided), 0.841621 (80 % power), 3.090232 (0.999).
    close(normalQuantile(0.975), 1.959963984540054, 1e-14, 'z.975');
    close(normalQuantile(0.8), 0.8416212335729143, 1e-14, 'z.8');
    close(normalQuantile(0.999), 3.090232306167813, 1e-14, 'z.999');
    close(normalCdf(0), 0.5, 1e-16, 'Φ(0)');
    for (const z of [0.3, 1.7, 4.2]) close(normalCdf(z) + normalCdf(-z), 1, 1e-15, `symmetry ${z}`);
  });

  it('agrees with scipy.stats.norm far into the tails', () => {
    // Reference values: scipy 1.17.1 (Cephes ndtr / ndtri), an implementation independent of this one.
    const cdf: [number, number][] = [
      [-37, 5.7255712225239266e-300],
      [-12, 1.776482112077653e-33],
      [-3.3, 0.00048342414238377744],
      [0.25, 0.5987063256829237],
      [5.5, 0.9999999810104375],
    ];
    for (const [z, p] of cdf) closeRel(normalCdf(z), p, 1e-12, `Φ(${z})`);
    const quantiles: [number, number][] = [
      [1e-300, -37.0470962993612],
      [1e-20, -9.262340089798409],
      [0.0123, -2.247626755795138],
      [0.77, 0.7388468491852137],
      [1 - 1e-12, 7.0344869100478356],
    ];
    for (const [p, z] of quantiles) close(normalQuantile(p), z, 1e-9, `Φ⁻¹(${p})`);
  });

  it('inverts: Φ(Φ⁻¹(p)) = p', () => {
    for (const p of [1e-15, 1e-6, 0.01, 0.2, 0.5, 0.9, 0.999999])
      closeRel(normalCdf(normalQuantile(p)), p, 1e-12);
  });
});

describe("Student's t distribution", () => {
  it('matches the closed forms for 1 and 2 degrees of freedom', () => {
    for (const t of [-30, -2, -0.4, 0, 0.9, 3.5, 80]) {
      // ν = 1 is the Cauchy distribution; ν = 2 has F(t) = ½ + t / (2√(t² + 2)).
      close(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-13, `Cauchy ${t}`);
      close(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(t * t + 2)), 1e-13, `ν=2 ${t}`);
    }
    for (const p of [0.001, 0.3, 0.975]) {
      close(studentTQuantile(p, 1), Math.tan(Math.PI * (p - 0.5)), 1e-11, `Cauchy quantile ${p}`);
      close(studentTQuantile(p, 2), (2 * p - 1) / Math.sqrt(2 * p * (1 - p)), 1e-12, `ν=2 quantile ${p}`);
    }
  });

  it('reproduces the printed table of two-sided 95 % critical values', () => {
    // NIST/SEMATECH e-Handbook of Statistical Methods, §1.3.6.7.2 (upper critical values, α = 0.025).
    const table: [number, number][] = [
      [1, 12.706],
      [2, 4.303],
      [5, 2.571],
      [10, 2.228],
      [30, 2.042],
      [100, 1.984],
    ];
    for (const [df, t] of table)
      assert.equal(studentTQuantile(0.975, df).toFixed(3), t.toFixed(3), `ν = ${df}`);
  });

  it('agrees with scipy.stats.t for fractional and large degrees of freedom (Welch uses both)', () => {
    // [ν, t.ppf(0.975), t.ppf(0.001), t.sf(2.5), t.cdf(−0.7)] from scipy 1.17.1 (Boost's implementation).
    const table: [number, number, number, number, number][] = [
      [1.5, 6.016663104427929, -52.18443000899265, 0.08490325130734802, 0.2882191204413434],
      [3, 3.1824463052837078, -10.214531852407385, 0.04385332350403278, 0.2671634991523818],
      [7.25, 2.348194849105371, -4.704186870181126, 0.019932760379457286, 0.2528811015412303],
      [30, 2.0422724563012378, -3.385184866829305, 0.009057824534033344, 0.24466022174983582],
      [250, 1.9694983934211532, -3.123150229027092, 0.0065304414125330655, 0.24228908565570667],
      [5841.742032093565, 1.9603701569544807, -3.091628037275284, 0.00622326713962463, 0.24197758943063502],
      [2e6, 1.9599651706763748, -3.090236381237243, 0.006209705038380413, 0.2419636929331757],
    ];
    for (const [df, q975, q001, sf25, cdfm07] of table) {
      close(studentTQuantile(0.975, df), q975, 1e-11, `t.975(${df})`);
      close(studentTQuantile(0.001, df), q001, 1e-11, `t.001(${df})`);
      closeRel(studentTSurvival(2.5, df), sf25, 1e-11, `sf(2.5; ${df})`);
      closeRel(studentTCdf(-0.7, df), cdfm07, 1e-11, `cdf(−0.7; ${df})`);
    }
  });

  it('tends to the normal as the degrees of freedom grow', () => {
    for (const df of [1e7, 1e9, 1e15]) {
      close(studentTQuantile(0.975, df), normalQuantile(0.975), 1e-6, `ν = ${df}`);
      closeRel(studentTSurvival(4, df), normalCdf(-4), 1e-5, `ν = ${df}`);
    }
  });
});

describe('chi-square distribution', () => {
  it('matches the closed forms for 1 and 2 degrees of freedom', () => {
    for (const x of [0.01, 0.5, 3.84, 20, 90]) {
      // χ²(2) is exponential with mean 2; χ²(1) is the square of a standard normal.
      closeRel(chiSquareSurvival(x, 2), Math.exp(-x / 2), 1e-13, `χ²(2) sf ${x}`);
      closeRel(chiSquareSurvival(x, 1), 2 * normalCdf(-Math.sqrt(x)), 1e-12, `χ²(1) sf ${x}`);
    }
    for (const p of [0.001, 0.5, 0.95])
      close(chiSquareQuantile(p, 2), -2 * Math.log(1 - p), 1e-12, `χ²(2) q ${p}`);
  });

  it('reproduces the printed table of upper critical values', () => {
    // NIST/SEMATECH e-Handbook, §1.3.6.7.4: upper 5 % and 0.1 % points.
    const table: [number, number, number][] = [
      [1, 0.95, 3.841],
      [2, 0.95, 5.991],
      [5, 0.95, 11.07],
      [10, 0.95, 18.307],
      [100, 0.95, 124.342],
      [1, 0.999, 10.828],
    ];
    for (const [df, p, x] of table)
      assert.equal(chiSquareQuantile(p, df).toFixed(3), x.toFixed(3), `ν = ${df}`);
  });

  it('agrees with scipy.stats.chi2, including tiny tail probabilities', () => {
    // [ν, chi2.ppf(0.999), chi2.ppf(0.01), chi2.sf(ν + 3√(2ν)), chi2.cdf(ν/2)] from scipy 1.17.1.
    const table: [number, number, number, number, number][] = [
      [1, 10.827566170662733, 0.00015708785790970184, 0.02203979528121822, 0.5204998778130466],
      [3, 16.26623619623813, 0.11483180189911707, 0.015824849523584428, 0.31772966966378746],
      [9, 27.877164871256568, 2.0879007358707273, 0.009782442163799926, 0.12446097470166222],
      [40, 73.40195751899103, 22.164261252975155, 0.004923297428849069, 0.0034543419758568334],
      [500, 603.4460057951776, 429.3875427745797, 0.0021886515331828206, 5.354943699258972e-23],
    ];
    for (const [df, q999, q01, sf, cdfHalf] of table) {
      close(chiSquareQuantile(0.999, df), q999, 1e-11, `q.999(${df})`);
      close(chiSquareQuantile(0.01, df), q01, 1e-11, `q.01(${df})`);
      closeRel(chiSquareSurvival(df + 3 * Math.sqrt(2 * df), df), sf, 1e-11, `sf(${df})`);
      closeRel(chiSquareCdf(df / 2, df), cdfHalf, 1e-11, `cdf(${df})`);
    }
  });
});
