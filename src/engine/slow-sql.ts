/**
 * `SEGFLOW_LOG_SLOW_SQL_MS=N`: every statement that takes N ms or more is written to stderr with its time — how the
 * costs of a streaming evaluation or a refresh on a big database are found statement by statement, on either engine.
 * Off by default.
 */
export const SLOW_SQL_MS = (() => {
  const v = Number(process.env.SEGFLOW_LOG_SLOW_SQL_MS);
  return process.env.SEGFLOW_LOG_SLOW_SQL_MS && Number.isFinite(v) ? v : undefined;
})();

/**
 * Write `sql` to stderr when it took `ms` or more (see SLOW_SQL_MS).
 *
 * @example
 * const started = performance.now();
 * await run(sql);
 * logIfSlow(sql, performance.now() - started);
 */
export function logIfSlow(sql: string, ms: number): void {
  if (SLOW_SQL_MS === undefined || ms < SLOW_SQL_MS) return;
  process.stderr.write(`segflow slow sql ${ms.toFixed(0)} ms: ${sql.replace(/\s+/g, ' ').slice(0, 160)}\n`);
}
