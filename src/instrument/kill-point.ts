/**
 * Test-only kill points. A crash test that kills `segflow serve` at a random moment hits the gap between two
 * statements of a load only by luck; with `SEGFLOW_TEST_KILL_AT` naming one of these points, the process SIGKILLs
 * itself exactly there, and the test checks what the restart recovers (test/server/load-crash.test.ts). Unset, as
 * always outside tests, a kill point is one comparison.
 */
export const KILL_POINTS = [
  /** A batch's new events are inserted; none of the profile facts derived from them is written yet. */
  'ingest:events-stored',
  /** The new events' activity (first/last seen, event counts) is added up; their traits, consent, … are not written. */
  'facts:activity-added',
  /** Between the two writes of an identity merge: the person override, and the merged-away person's identifiers moved. */
  'identity:mid-merge',
] as const;
export type KillPoint = (typeof KILL_POINTS)[number];

/** SIGKILL this process when `SEGFLOW_TEST_KILL_AT` names `point`: no handler runs, nothing is flushed. */
export function killPoint(point: KillPoint): void {
  if (process.env.SEGFLOW_TEST_KILL_AT === point) process.kill(process.pid, 'SIGKILL');
}
