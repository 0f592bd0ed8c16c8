/**
 * How many random cases a randomised suite runs: `quick` in `npm test` (which must stay under 20 minutes on 2 cores),
 * `thorough` with SEGFLOW_TEST_THOROUGH=1 — before a release, or after changing the code a suite checks.
 *
 * @example
 * const ROUNDS = randomCases(12, 30); // 12 in npm test, 30 with SEGFLOW_TEST_THOROUGH=1
 */
export function randomCases(quick: number, thorough: number): number {
  return process.env.SEGFLOW_TEST_THOROUGH ? thorough : quick;
}
