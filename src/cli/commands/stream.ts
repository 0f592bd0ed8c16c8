import type { Command } from 'commander';
import { SegflowError } from '../../errors.js';
import { type StreamStatus, StreamStatusSchema, streamOffStatus } from '../../pipeline/stream.js';
import { servedLocation } from '../database-location.js';
import { emit } from '../output.js';
import { serverHolding } from '../served-database.js';

/**
 * `segflow stream status`: the streaming evaluation of the `segflow serve` holding the database, as its `/healthz`
 * reports it (the same object as `GET /api/v1/stream`). Streaming lives in the server's memory, so with no server
 * there is nothing to stream: the answer is mode `off`, and says why.
 */
export function registerStream(program: Command): void {
  const stream = program
    .command('stream')
    .description('streaming evaluation in a running segflow serve (docs/realtime.md)');
  stream
    .command('status')
    .description("the stream's mode, lag, due-time queue, feature mode and last evaluation, from the server")
    .option('--json', 'print as one JSON document')
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      // The DuckDB file or chdb folder a local server advertises itself beside; a ClickHouse server has none.
      const db = servedLocation(cmd.optsWithGlobals());
      const served = db === undefined ? undefined : await serverHolding(db);
      const status = served
        ? await serverStatus(served.url)
        : {
            ...streamOffStatus(),
            reason:
              db === undefined
                ? 'on a ClickHouse server no local segflow serve is recorded: ask the server you run for its /healthz'
                : `no segflow serve holds ${db}: streaming runs inside the server (segflow serve)`,
          };
      emit(Boolean(flags.json), StreamStatusSchema.encode(status), () => describeStatus(status));
    });
}

/** The stream's state from a server's /healthz (no key needed: it is the operators' endpoint). */
async function serverStatus(url: string): Promise<StreamStatus> {
  let body: { stream?: unknown };
  try {
    const res = await fetch(`${url}/healthz`);
    body = (await res.json()) as { stream?: unknown };
  } catch (e) {
    throw new SegflowError(
      'SERVER_RUNNING',
      `segflow serve at ${url} does not answer: ${(e as Error).message}`,
      'check that the server is up (its log), then run the command again',
    );
  }
  return StreamStatusSchema.parse(body.stream);
}

/**
 * The status as a few lines a person reads.
 *
 * @example
 * describeStatus(streamOffStatus()); // 'mode         off — streaming is off: …'
 */
export function describeStatus(s: StreamStatus): string {
  const last = s.lastEvaluation;
  return [
    `mode         ${s.mode}${s.reason ? ` — ${s.reason}` : ''}`,
    `lag          ${s.lagSeconds.toFixed(2)} s (${s.pendingNotifications} loads waiting)`,
    `due edges    ${s.dueEdges}${s.nextDue ? `, next at ${s.nextDue.toISOString()}` : ''}`,
    `features     ${s.features}${s.featuresReason ? ` — ${s.featuresReason}` : ''}`,
    `evaluations  ${s.evaluations} (${s.failures} failed)`,
    ...(last
      ? [
          `last         ${last.reason} as of ${last.asOf.toISOString()}: ${last.seconds.toFixed(3)} s, ${last.evaluated} evaluated, ${last.entered} entered, ${last.exited} exited, ${last.sent} sent`,
        ]
      : []),
    ...(s.lastError ? [`last error   ${s.lastError.at.toISOString()}: ${s.lastError.message}`] : []),
  ].join('\n');
}
