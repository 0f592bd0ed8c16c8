import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SegflowConfig } from '../../src/config/config.js';
import { parseFeatureExpression } from '../../src/segment/feature-expression.js';
import { didYouMean, editDistance, nearestNames } from '../../src/shared/did-you-mean.js';
import { sourceFiles } from '../house-rules/source-files.js';

test('edit distance counts a swap of neighbouring letters as one and ignores case', () => {
  assert.equal(editDistance('modle', 'model'), 1);
  assert.equal(editDistance('atleast', 'atLeast'), 0);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(didYouMean('segmnets', ['segments', 'playbook']), 'segments');
  assert.equal(didYouMean('xyz', ['segments', 'playbook']), undefined, 'nothing far-fetched');
  assert.deepEqual(nearestNames('rfm.rr', ['engagement.score', 'rfm.r', 'rfm.f', 'rfm.group'], 2), [
    'rfm.r',
    'rfm.f',
  ]);
});

test('the config file and feature expressions suggest through the one shared "did you mean"', () => {
  const config = SegflowConfig.safeParse({ segmnets: './segments' });
  assert.equal(config.success, false);
  assert.match(config.error!.issues[0]!.message, /not a configuration key — did you mean 'segments'\?/);
  const known = ['rfm.recency_days', 'rfm.group', 'engagement.score', 'intent.score'];
  assert.throws(
    () => parseFeatureExpression('rfm.recency_dayz + 1', () => undefined, known),
    (e: Error & { hint?: string }) => /did you mean rfm\.recency_days, /.test(`${e.message} ${e.hint}`),
  );
  // Written once: no other file under src/ has an edit distance of its own.
  const own = sourceFiles()
    .filter((f) => f.path !== 'shared/did-you-mean.ts')
    .filter((f) => /function\s+(edit)?[dD]istance\s*\(|levenshtein/i.test(f.text))
    .map((f) => f.path);
  assert.deepEqual(own, []);
});
