import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fitBgNbd } from '../../../src/model/predict/bgnbd.js';
import { simulateBgNbd } from '../../../src/model/predict/simulate.js';

describe('parameter recovery on simulated BG/NBD histories', () => {
  test('fitting recovers the generating parameters within 4 standard errors', () => {
    const truth = { r: 0.25, alpha: 4, a: 0.8, b: 2.5 };
    const data = simulateBgNbd({ params: truth, people: 50_000, maxAge: 52, timeUnit: 'weeks', seed: 11 });
    const fit = fitBgNbd(data);
    assert.equal(fit.people, 50_000);
    for (const k of ['r', 'alpha', 'a', 'b'] as const) {
      const z = (fit.params[k] - truth[k]) / fit.standardErrors![k];
      assert.ok(Math.abs(z) < 4, `${k}: ${fit.params[k]} vs ${truth[k]} (z = ${z.toFixed(2)})`);
    }
  });

  test('day-resolution histories are grouped and still recover the parameters', () => {
    const truth = { r: 0.5, alpha: 10, a: 0.6, b: 3 };
    const data = simulateBgNbd({
      params: truth,
      people: 50_000,
      maxAge: 52,
      timeUnit: 'weeks',
      resolution: 1 / 7,
      seed: 5,
    });
    assert.ok(data.x.length < 25_000, `${data.x.length} groups`);
    const fit = fitBgNbd(data);
    for (const k of ['r', 'alpha', 'a', 'b'] as const) {
      assert.ok(Math.abs(fit.params[k] / truth[k] - 1) < 0.15, `${k}: ${fit.params[k]} vs ${truth[k]}`);
    }
  });
});
