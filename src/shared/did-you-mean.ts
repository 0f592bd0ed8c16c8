/** Levenshtein distance (case-insensitive): how many single-letter edits turn one name into the other. */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const dp = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= y.length; j++) {
      const cur = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (x[i - 1] === y[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return dp[y.length]!;
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
