import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SegflowError } from '../../src/errors.js';
import { meanLift, proportionLift } from '../../src/measure/lift.js';
import { achievedPower, minimumDetectableEffect, requiredPeople } from '../../src/measure/power.js';
import { createRng } from '../../src/shared/seeded-random.js';

// z-values as printed in normal tables: z.975 = 1.959964, z.80 = 0.841621.
const Z_ALPHA = 1.959964;
const Z_POWER = 0.841621;

describe('power: textbook sample sizes', () => {
  it('two means, δ/σ = 0.5, α = 0.05, power 0.8, equal arms: 63 per arm', () => {
    // The normal-approximation formula for two means (e.g. Chow, Shao & Wang, Sample Size Calculations in Clinical
    // Research, §3.2): n per arm = 2(z.975 + z.80)²σ²/δ² = 2 · 2.801585² / 0.25 = 62.79 → 63.
    const perArm = (2 * (Z_ALPHA + Z_POWER) ** 2) / 0.25;
    assert.equal(Math.ceil(perArm), 63);
    const r = requiredPeople({
      metric: { kind: 'mean', baselineMean: 10, standardDeviation: 2 },
      holdoutShare: 0.5,
      effect: { absolute: 1 },
    });
    assert.deepEqual([r.holdoutPeople, r.treatmentPeople, r.people], [63, 63, 126]);
  });

  it('two proportions, 10 % → 15 %, α = 0.05, power 0.8, equal arms: 683 per arm', () => {
    // Unpooled normal approximation: n = (z.975 + z.80)²·(p₁q₁ + p₂q₂)/δ² = 7.8489 · (0.09 + 0.1275) / 0.0025 = 682.9.
    const perArm = ((Z_ALPHA + Z_POWER) ** 2 * (0.1 * 0.9 + 0.15 * 0.85)) / 0.05 ** 2;
    assert.equal(Math.ceil(perArm), 683);
    const r = requiredPeople({
      metric: { kind: 'proportion', baselineRate: 0.1 },
      holdoutShare: 0.5,
      effect: { relative: 0.5 },
    });
    assert.deepEqual([r.holdoutPeople, r.treatmentPeople], [683, 683]);
  });

  it('an unequal split costs people: with a 10 % holdout, 1/(h(1 − h)) = 11.1 against 4 at 50/50', () => {
    const design = {
      metric: { kind: 'mean' as const, baselineMean: 10, standardDeviation: 2 },
      effect: { absolute: 1 },
    };
    const even = requiredPeople({ ...design, holdoutShare: 0.5 });
    const tenPercent = requiredPeople({ ...design, holdoutShare: 0.1 });
    const ratio = tenPercent.people / even.people;
    assert.ok(Math.abs(ratio - 1 / (0.1 * 0.9) / 4) < 0.02, `ratio ${ratio}`);
  });

  it('MDE and sample size are inverses, and the power at the MDE is the power asked for', () => {
    const design = { metric: { kind: 'proportion' as const, baselineRate: 0.04 }, holdoutShare: 0.1 };
    const mde = minimumDetectableEffect({ ...design, people: 50_000 });
    const back = requiredPeople({ ...design, effect: { absolute: mde.absolute } });
    assert.ok(Math.abs(back.people - 50_000) <= 2, `${back.people}`);
    const power = achievedPower({ ...design, people: 50_000, effect: { absolute: mde.absolute } });
    assert.ok(Math.abs(power - 0.8) < 1e-6, `${power}`);
    assert.equal(mde.relative, mde.absolute / 0.04);
  });
});

describe('power: checked by simulation', () => {
  // 4,000 simulated experiments: the share that the analysis (Welch t at α = 0.05) calls significant should be the
  // planned power, 0.80 (binomial standard error 0.63 points; allowed ±2.5).
  const experiments = 4000;

  it('a conversion KPI at its minimum detectable effect is detected 80 % of the time', () => {
    const design = { metric: { kind: 'proportion' as const, baselineRate: 0.2 }, holdoutShare: 0.1 };
    const mde = minimumDetectableEffect({ ...design, people: 8000 });
    const rng = createRng(201, 0);
    const arm = (n: number, p: number) => {
      let conversions = 0;
      for (let i = 0; i < n; i++) if (rng.float() < p) conversions++;
      return { n, conversions };
    };
    let detected = 0;
    for (let e = 0; e < experiments; e++) {
      const r = proportionLift({ control: arm(800, 0.2), treatment: arm(7200, 0.2 + mde.absolute) });
      if (r.absolute.significant) detected++;
    }
    const power = detected / experiments;
    assert.ok(Math.abs(power - 0.8) < 0.025, `simulated power ${power} at MDE ${mde.absolute}`);
  });

  it('a mean KPI with the required people is detected 80 % of the time', () => {
    const r = requiredPeople({
      metric: { kind: 'mean', baselineMean: 20, standardDeviation: 30 },
      holdoutShare: 0.2,
      effect: { relative: 0.2 },
    });
    const rng = createRng(202, 0);
    const arm = (n: number, mean: number) => {
      let sum = 0;
      let sumSquares = 0;
      for (let i = 0; i < n; i++) {
        const x = rng.normal(mean, 30);
        sum += x;
        sumSquares += x * x;
      }
      return { n, sum, sumSquares };
    };
    let detected = 0;
    for (let e = 0; e < experiments; e++) {
      const lift = meanLift({ control: arm(r.holdoutPeople, 20), treatment: arm(r.treatmentPeople, 24) });
      if (lift.absolute.significant) detected++;
    }
    const power = detected / experiments;
    assert.ok(Math.abs(power - 0.8) < 0.025, `simulated power ${power} with ${r.people} people`);
  });
});

describe('power: input errors', () => {
  it('say how to fix the design', () => {
    const metric = { kind: 'proportion' as const, baselineRate: 0.1 };
    const cases: [() => unknown, RegExp][] = [
      [() => requiredPeople({ metric, holdoutShare: 0, effect: { relative: 0.1 } }), /holdout share/],
      [() => requiredPeople({ metric, holdoutShare: 0.1, effect: { relative: 0 } }), /non-zero/],
      [() => requiredPeople({ metric, holdoutShare: 0.1, effect: { absolute: 0.95 } }), /leaves the range/],
      [
        () =>
          requiredPeople({
            metric: { kind: 'proportion', baselineRate: 4 },
            holdoutShare: 0.1,
            effect: { relative: 0.1 },
          }),
        /fraction/,
      ],
      [
        () => minimumDetectableEffect({ metric, holdoutShare: 0.1, people: 10, power: 0.99 }),
        /cannot detect/,
      ],
      [() => minimumDetectableEffect({ metric, holdoutShare: 0.1, people: 2.5 }), /whole number/],
      [() => minimumDetectableEffect({ metric, holdoutShare: 0.1, people: 1000, power: 1 }), /power/],
    ];
    for (const [fn, message] of cases)
      assert.throws(fn, (e: SegflowError) => {
        assert.equal(e.code, 'STATS_INPUT_INVALID');
        assert.match(`${e.message} ${e.hint}`, message);
        return true;
      });
  });
});
