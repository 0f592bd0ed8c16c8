/**
 * Edit distance (case-insensitive): how many single-letter insertions, deletions, substitutions or swaps of two
 * neighbouring letters turn one name into the other ("lable" → "label" is one).
 *
 * @example
 * editDistance('atleast', 'atLeast') // 0
 * editDistance('lable', 'label') // 1
 */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const d = Array.from({ length: x.length + 1 }, (_, i) =>
    Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[x.length]![y.length]!;
}

/**
 * The `n` known names nearest to a word by edit distance, nearest first (ties in the order given): for a hint that
 * lists candidates whatever their distance.
 *
 * @example
 * nearestNames('rfm.recency_dayz', ['rfm.group', 'rfm.recency_days', 'rfm.r'], 2) // ['rfm.recency_days', 'rfm.r']
 */
export function nearestNames(word: string, known: Iterable<string>, n: number): string[] {
  return [...known]
    .map((k, i) => ({ k, i, d: editDistance(word, k) }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .slice(0, n)
    .map((x) => x.k);
}

/**
 * The known name a mistyped one most likely meant: the nearest by edit distance, when it is close enough to be a
 * typo (at most a third of the word's letters, at least one) — otherwise undefined, so no far-fetched guess is shown.
 *
 * @example
 * didYouMean('champions', ['champion', 'high-intent']) // 'champion'
 * didYouMean('atleast', ['atLeast', 'within']) // 'atLeast'
 */
export function didYouMean(word: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = editDistance(word, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/**
 * " — did you mean 'x'?" for a message, or '' when no known name is near.
 *
 * @example
 * `no segment 'champions'${didYouMeanSuffix('champions', ['champion'])}` // "no segment 'champions' — did you mean 'champion'?"
 */
export function didYouMeanSuffix(word: string, known: Iterable<string>): string {
  const near = didYouMean(word, known);
  return near ? ` — did you mean '${near}'?` : '';
}
