import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { durationMs } from '../../config/duration.js';
import { SegflowError } from '../../errors.js';
import { erasePendingAtStart } from '../../govern/erasure.js';
import { purgeExpired, retentionConfig } from '../../govern/retention.js';
import { runCycle } from '../../pipeline/cycle.js';
import { type RunningServer, startServer } from '../../server/app.js';
import { claimDatabase } from '../database-location.js';
import { runForClient } from '../run-for-client.js';
import { advertiseServer, announceStarting, newLocalToken, withdrawServer } from '../served-database.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new SegflowError(
      'USAGE',
      `--port must be a port number 0-65535 (got '${value}')`,
      'e.g. --port 8787',
    );
  }
  return n;
}

/** The address other processes of this machine reach the server at (a wildcard listen address is not one). */
function localUrl(url: string): string {
  return url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:');
}

/**
 * `segflow serve`: the collector and admin API over the database, until SIGINT or SIGTERM. While it runs, other
 * `segflow` commands on the same database run through it (`runCli` is `main`; docs/cli-and-server.md).
 */
export function registerServe(program: Command, o: { runCli: (argv: string[]) => Promise<number> }): void {
  program
    .command('serve')
    .description(
      'run the collector (Segment-spec /v1/batch, /v1/track, …, PostHog /batch/) and the admin API (/api/v1)',
    )
    .option('--port <n>', 'port to listen on (0 picks a free one)', '8787')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--log-level <level>', 'structured log level: fatal, error, warn, info, debug', 'info')
    .option(
      '--playbook <file>',
      'the playbook decide() and activation read (default: playbook: in segflow.config.yaml, else ./playbook.yaml)',
    )
    .option(
      '--intake-log <dir>',
      "where acknowledged events wait, fsync'd, until the warehouse loads them (on by default: <database>.intake; ./segflow.intake with a ClickHouse server)",
    )
    .option(
      '--no-intake-log',
      'no intake log: acknowledge only after a warehouse commit (slower; for comparison)',
    )
    .option(
      '--no-stream',
      'no streaming evaluation: memberships and plays wait for the cycle instead of following each load (docs/realtime.md)',
    )
    .option(
      '--cycle-every <duration>',
      'run the loop on a timer — features, segments, then the playbook — e.g. 5m (off by default)',
    )
    .action(
      async (
        flags: {
          port: string;
          host: string;
          logLevel: string;
          playbook?: string;
          cycleEvery?: string;
          /** A directory, false for --no-intake-log, undefined (commander's default for the pair) for the default. */
          intakeLog?: string | boolean;
          stream: boolean;
        },
        cmd: Command,
      ) => {
        const every = flags.cycleEvery ? durationMs(flags.cycleEvery) : null;
        const { dbPath, clickhouse, location } = claimDatabase(
          cmd.optsWithGlobals(),
          'segflow serve',
          'one server per database: use the running one, or stop it first',
        );
        // Other commands on this database wait for the server from now on instead of failing on the file lock. The
        // advertisement lies beside what the server holds: the DuckDB file, or chdb's folder (one process per folder).
        // A ClickHouse server is shared by every process that reaches it, so there is nothing to advertise.
        const db = location === undefined ? undefined : resolve(location);
        const advertised =
          location !== undefined && location !== ':memory:' && location !== '' ? db : undefined;
        const startedAt = new Date().toISOString();
        if (advertised) announceStarting({ pid: process.pid, db: advertised, startedAt });
        // Deletes waiting to reach storage are erased before the server holds the database (docs/govern.md): a DuckDB
        // file is rewritten, chdb's tables that had deletes are rewritten. A ClickHouse server is skipped: other
        // processes may be writing to it and its cleanup takes minutes, so there it is `segflow privacy erase`.
        const erasure = await erasePendingAtStart({
          dbPath,
          ...(clickhouse ? { clickhouse } : {}),
          ...(typeof flags.intakeLog === 'string' ? { intakeLog: flags.intakeLog } : {}),
        }).catch((e: Error) => e);
        const token = newLocalToken();
        let running: RunningServer | undefined;
        const server = await startServer({
          dbPath,
          ...(clickhouse ? { clickhouse } : {}),
          host: flags.host,
          port: port(flags.port),
          ...(flags.playbook ? { playbook: flags.playbook } : {}),
          // Commander leaves the option undefined when neither --intake-log nor --no-intake-log is given (not true):
          // that is the default log beside the database (app.ts intakeLogDir), not "no log" — a 200 then waits for the
          // log's fsync, not a warehouse commit (docs/collector.md).
          ...(typeof flags.intakeLog === 'string' || flags.intakeLog === false
            ? { groupCommit: { intakeLog: flags.intakeLog } }
            : {}),
          // Logs are JSON lines on stderr (stdout stays free for anything a script reads).
          logger: { level: flags.logLevel, stream: process.stderr },
          localCli: {
            token,
            run: runForClient({
              warehouse: () => running!.warehouse,
              settled: () => running!.committer.settled(),
              runCli: o.runCli,
            }),
          },
          // On by default: an event's play follows it within about a second; the cycle stays as the safety net.
          stream: flags.stream ? {} : false,
        }).catch((e: unknown) => {
          if (advertised) withdrawServer(advertised);
          throw e;
        });
        running = server;
        // Stop cleanly on a signal from the moment the server says it listens, so the handlers go in before that line:
        // installed after the first retention purge below, a SIGTERM sent on seeing the line killed the process
        // without closing it.
        const stopped = new Promise<void>((resolve) => {
          const stop = (signal: string) => {
            server.app.log.info({ signal }, 'shutting down: committing what is queued');
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            resolve();
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
        if (advertised)
          advertiseServer({ pid: process.pid, url: localUrl(server.url), token, db: advertised, startedAt });
        server.app.log.info(
          { url: server.url, db: server.warehouse.location, stream: server.stream ? 'on' : 'off' },
          'segflow serve listening',
        );
        if (erasure instanceof Error)
          server.app.log.warn({ error: erasure.message }, 'privacy erasure deferred');
        else if (erasure)
          server.app.log.info({ requests: erasure.requests }, 'privacy erasure reached storage');
        // Retention windows (segflow.config.yaml) are applied at start and every hour while the server runs.
        const rules = retentionConfig(loadConfig().retention);
        const purge = async () => {
          if (!Object.keys(rules).length) return;
          try {
            const r = await purgeExpired(server.warehouse, rules);
            server.app.log.info(
              { purged: r.rules.map((x) => ({ events: x.key, deleted: x.events })) },
              'retention purge',
            );
          } catch (e) {
            server.app.log.error({ err: (e as Error).message }, 'retention purge failed');
          }
        };
        await purge();
        const timers = [setInterval(() => void purge(), 3_600_000)];
        // The loop on a timer, one turn at a time: people entering a segment get their play without a command.
        if (every) {
          let running = false;
          const turn = async () => {
            if (running) return;
            running = true;
            try {
              // The turn sees every acknowledged event: what waits in the intake log is loaded first.
              await server.committer.settled();
              // Never beside a streaming evaluation: both move memberships forward in time.
              const cycle = () =>
                runCycle(server.warehouse, flags.playbook ? { playbook: flags.playbook } : {});
              const c = server.stream ? await server.stream.exclusive(cycle) : await cycle();
              server.app.log.info(
                {
                  persons: c.persons,
                  segments: c.segments.length,
                  sent: c.activation?.outbox.sent ?? 0,
                  seconds: c.seconds,
                },
                'cycle',
              );
            } catch (e) {
              server.app.log.error({ err: (e as Error).message }, 'cycle failed');
            } finally {
              running = false;
            }
          };
          timers.push(setInterval(() => void turn(), every));
        }
        for (const t of timers) t.unref();
        await stopped;
        for (const t of timers) clearInterval(t);
        if (advertised) withdrawServer(advertised);
        await server.close();
      },
    );
}
