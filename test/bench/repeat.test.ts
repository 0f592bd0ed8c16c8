import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BenchResult } from '../../bench/harness.js';
import { combineRuns, median, renderSideBySide } from '../../bench/repeat.js';

function run(value: number, limit: number, extra?: number): BenchResult {
  return {
    name: 'refresh',
    description: 'test',
    rows: [
      {
        metric: 'feature refresh',
        value,
        unit: 's',
        limit,
        ratio: limit / value,
        target: 0.25,
        note: `v=${value}`,
      },
      ...(extra === undefined ? [] : [{ metric: 'only sometimes', value: extra, unit: 's' }]),
    ],
  };
}

test('median: the middle value, or the mean of the middle two', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
});

test("repeated runs combine into each row's medians, the ratio taken per run, with every value in the note", () => {
  // Ratios per run: 1/4, 2/4, 1/10 → median 0.25; value median 4; limit median 1.
  const combined = combineRuns([run(4, 1), run(4, 2, 9), run(10, 1)]);
  const [refresh, sometimes] = combined.rows;
  assert.equal(refresh!.value, 4);
  assert.equal(refresh!.limit, 1);
  assert.equal(refresh!.ratio, 0.25);
  assert.equal(refresh!.target, 0.25);
  assert.match(refresh!.note!, /median of 3 runs: 4, 4, 10 s against 1, 1, 2 s; last run: v=10/);
  // A row that only some runs have is combined over those.
  assert.equal(sometimes!.value, 9);
  assert.match(sometimes!.note!, /median of 1 run: 9 s/);
  assert.equal(sometimes!.ratio, undefined);
});

test('side by side: a time that halved reads 2× faster; a row the baseline lacks shows a dash', () => {
  const ours = combineRuns([run(2, 1, 3)]);
  const base = combineRuns([run(4, 1)]);
  const text = renderSideBySide(ours, base, 'main');
  assert.match(text, /feature refresh\s+2 s \(ratio 0\.50\)\s+4 s \(ratio 0\.25\)\s+2\.00× faster/);
  assert.match(text, /only sometimes\s+3 s\s+—/);
  assert.match(
    renderSideBySide(base, ours, 'main'),
    /feature refresh\s+4 s \(ratio 0\.25\)\s+2 s \(ratio 0\.50\)\s+2\.00× slower/,
  );
});
