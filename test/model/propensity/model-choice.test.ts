import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRng } from '../../../src/generate/random.js';
import { fitClassifier, importance, predictClassifier } from '../../../src/model/propensity/classifier.js';
import { fitGbt, predictGbt } from '../../../src/model/propensity/gbt.js';
import type { Design } from '../../../src/model/propensity/logistic.js';
import { auc } from '../../../src/model/propensity/metrics.js';

/** n rows of `m` standard-normal columns with a label drawn from logit = f(row). */
function planted(n: number, m: number, seed: number, logit: (x: number[]) => number): Design {
  const rng = createRng(seed, 0);
  const values = Array.from({ length: m }, () => new Float64Array(n));
  const labels = new Uint8Array(n);
  const row = new Array<number>(m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      row[j] = rng.normal();
      values[j]![i] = row[j]!;
    }
    labels[i] = rng.chance(1 / (1 + Math.exp(-logit(row)))) ? 1 : 0;
  }
  return { columns: values.map((_, j) => `x${j}`), values, labels };
}

// XOR of two thresholds: no linear function of x0 and x1 separates it, a depth-2 tree does.
const xor = (x: number[]) => (x[0]! > 0.3 !== x[1]! < -0.2 ? 2.5 : -2.5);
// A smooth linear logit spread over many columns: what logistic regression is made for.
const linear = (x: number[]) =>
  0.8 * x[0]! - 0.6 * x[1]! + 0.5 * x[2]! - 0.4 * x[3]! + 0.3 * x[4]! + 0.2 * x[5]!;

describe('gradient-boosted trees and the automatic model choice', () => {
  test('planted interaction (XOR of two thresholds): trees win and auto picks them', () => {
    const train = planted(3000, 6, 1, xor);
    const test = planted(2000, 6, 2, xor);
    const { model, choice } = fitClassifier(train, { model: 'auto', seed: 3 });
    assert.equal(choice.chosen, 'gbt', JSON.stringify(choice));
    assert.ok(
      choice.crossValidatedAuc!.gbt > choice.crossValidatedAuc!.logistic + 0.1,
      JSON.stringify(choice),
    );
    const a = auc(predictClassifier(model, test.values), test.labels);
    assert.ok(a > 0.85, `test AUC of the trees ${a}`);
    // Gain importance names the two planted columns first.
    const top = importance(model)
      .slice(0, 2)
      .map((r) => r.input)
      .sort();
    assert.deepEqual(top, ['x0', 'x1']);
  });

  test('linear logit: logistic regression wins and auto picks it', () => {
    const train = planted(3000, 12, 4, linear);
    const { model, choice } = fitClassifier(train, { model: 'auto', seed: 3 });
    assert.equal(choice.chosen, 'logistic', JSON.stringify(choice));
    assert.ok(choice.crossValidatedAuc!.logistic > choice.crossValidatedAuc!.gbt, JSON.stringify(choice));
    assert.equal(model.kind, 'logistic');
  });

  test('early stopping keeps the best round on the validation share; same seed, same trees', () => {
    const train = planted(4000, 4, 5, xor);
    const a = fitGbt(train, createRng(9, 0), { maxIterations: 400, patience: 5 });
    const b = fitGbt(train, createRng(9, 0), { maxIterations: 400, patience: 5 });
    assert.ok(a.iterations < 400, `stopped after ${a.iterations} rounds`);
    const bestLoss = Math.min(...a.validationLoss);
    assert.equal(
      a.validationLoss[a.iterations - 1],
      bestLoss,
      'the kept trees end at the best validation loss',
    );
    assert.deepEqual(predictGbt(a, train.values), predictGbt(b, train.values));
  });

  test('depth and leaf limits hold, leaves shrink with the learning rate, L2 shrinks them further', () => {
    const train = planted(3000, 4, 6, xor);
    const shallow = fitGbt(train, createRng(1, 0), { maxDepth: 2, maxIterations: 5, validationShare: 0 });
    for (const t of shallow.trees) {
      const depth = (node: number): number =>
        t.feature[node]! < 0 ? 0 : 1 + Math.max(depth(t.left[node]!), depth(t.right[node]!));
      assert.ok(depth(0) <= 2);
    }
    const few = fitGbt(train, createRng(1, 0), { maxLeaves: 3, maxIterations: 5, validationShare: 0 });
    for (const t of few.trees) assert.ok(t.feature.filter((f) => f < 0).length <= 3);
    const biggest = (m: ReturnType<typeof fitGbt>) =>
      Math.max(...m.trees[0]!.value.map((v, k) => (m.trees[0]!.feature[k]! < 0 ? Math.abs(v) : 0)));
    const plain = fitGbt(train, createRng(1, 0), { maxIterations: 1, validationShare: 0, l2: 0 });
    const penalised = fitGbt(train, createRng(1, 0), { maxIterations: 1, validationShare: 0, l2: 500 });
    const slow = fitGbt(train, createRng(1, 0), {
      maxIterations: 1,
      validationShare: 0,
      l2: 0,
      learningRate: 0.01,
    });
    assert.ok(biggest(penalised) < biggest(plain));
    assert.ok(Math.abs(biggest(slow) * 10 - biggest(plain)) < 1e-9);
  });
});
