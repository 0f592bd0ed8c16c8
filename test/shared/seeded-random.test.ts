import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng, WeightedTable } from '../../src/shared/seeded-random.js';

function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}
function variance(xs: readonly number[]): number {
  const m = mean(xs);
  return xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
}
function draws(n: number, f: () => number): number[] {
  return Array.from({ length: n }, f);
}

describe('seeded random streams', () => {
  it('repeats for the same (seed, stream, salt) and differs otherwise', () => {
    const take = (seed: number, stream: number, salt = 0) => {
      const rng = createRng(seed, stream, salt);
      return draws(8, () => rng.nextU32());
    };
    assert.deepEqual(take(42, 7), take(42, 7));
    assert.notDeepEqual(take(42, 7), take(43, 7));
    assert.notDeepEqual(take(42, 7), take(42, 8));
    assert.notDeepEqual(take(42, 7), take(42, 7, 1));
    // Seeds beyond 32 bits use their high half too.
    assert.notDeepEqual(take(1, 0), take(1 + 2 ** 32, 0));
  });

  it('gives neighbouring streams uncorrelated uniforms', () => {
    const n = 20_000;
    const a = createRng(1, 0);
    const b = createRng(1, 1);
    const xs = draws(n, () => a.float());
    const ys = draws(n, () => b.float());
    const mx = mean(xs);
    const my = mean(ys);
    let cov = 0;
    for (let i = 0; i < n; i++) cov += (xs[i]! - mx) * (ys[i]! - my);
    const corr = cov / (n - 1) / Math.sqrt(variance(xs) * variance(ys));
    // The standard error of a correlation of independent samples is 1/sqrt(n) ≈ 0.007.
    assert.ok(Math.abs(corr) < 0.03, `correlation ${corr}`);
    assert.ok(Math.abs(mx - 0.5) < 0.01);
  });

  it('draws the distributions with the stated moments', () => {
    const rng = createRng(7, 0);
    const n = 40_000;
    const normal = draws(n, () => rng.normal(3, 2));
    assert.ok(Math.abs(mean(normal) - 3) < 0.05);
    assert.ok(Math.abs(Math.sqrt(variance(normal)) - 2) < 0.05);
    const expo = draws(n, () => rng.exponential(0.5));
    assert.ok(Math.abs(mean(expo) - 2) < 0.06);
    const gamma = draws(n, () => rng.gamma(3, 0.01));
    assert.ok(Math.abs(mean(gamma) - 0.03) < 0.0006);
    assert.ok(Math.abs(variance(gamma) - 3 * 0.01 ** 2) < 0.00002);
    const smallShape = draws(n, () => rng.gamma(0.5, 2));
    assert.ok(Math.abs(mean(smallShape) - 1) < 0.04);
    for (const lambda of [0.3, 4, 250]) {
      const p = draws(n, () => rng.poisson(lambda));
      assert.ok(Math.abs(mean(p) - lambda) < 0.02 * lambda + 0.01, `poisson(${lambda}) mean ${mean(p)}`);
      assert.ok(Math.abs(variance(p) / lambda - 1) < 0.05, `poisson(${lambda}) variance ${variance(p)}`);
    }
    const logn = draws(n, () => Math.log(rng.lognormal(4, 0.5)));
    assert.ok(Math.abs(mean(logn) - 4) < 0.01);
  });

  it('makes version-4-shaped uuids and hex ids', () => {
    const rng = createRng(3, 0);
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = rng.uuid();
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(id);
    }
    assert.equal(seen.size, 5000);
    assert.match(rng.hex(16), /^[0-9a-f]{16}$/);
    assert.match(rng.hex(10), /^[0-9a-f]{10}$/);
  });

  it('samples a weighted table in proportion to its weights', () => {
    const rng = createRng(5, 0);
    const table = new WeightedTable([
      ['a', 1],
      ['b', 3],
      ['never', 0],
    ] as const);
    const n = 40_000;
    let b = 0;
    for (let i = 0; i < n; i++) {
      const x = table.sample(rng);
      assert.notEqual(x, 'never');
      if (x === 'b') b++;
    }
    assert.ok(Math.abs(b / n - 0.75) < 0.01);
  });
});
