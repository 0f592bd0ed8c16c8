import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { fromWorkingDir } from '../../config/working-dir.js';
import { SegflowError } from '../../errors.js';
import { cliActor, readAudit } from '../../govern/audit.js';
import { eraseFromStorage, privacyStatus } from '../../govern/erasure.js';
import { deletePerson, exportPerson, suppressPerson } from '../../govern/privacy.js';
import { purgeExpired, retentionConfig } from '../../govern/retention.js';
import { retireSegment, reviewSegments } from '../../govern/segment-review.js';
import { parseAsOf, withWarehouse } from '../context.js';
import { requireDatabaseClosed } from '../database-location.js';
import { emit, table, toJsonText, writeStdout } from '../output.js';

const CLI = { actor: cliActor(), source: 'cli' };

export function registerGovern(program: Command): void {
  program
    .command('audit')
    .description('the audit log: who changed a definition, playbook or key, and who read whose data')
    .option('--since <time>', 'entries at or after this time')
    .option('--action <action>', 'only this action (e.g. person.read, key.create, privacy.delete)')
    .option('--limit <n>', 'newest first, at most this many', '200')
    .option('--json', 'print as one JSON document')
    .action(
      async (flags: { since?: string; action?: string; limit: string; json?: boolean }, cmd: Command) => {
        const rows = await withWarehouse(
          cmd.optsWithGlobals(),
          (wh) =>
            readAudit(wh, {
              ...(flags.since ? { since: parseAsOf(flags.since)! } : {}),
              ...(flags.action ? { action: flags.action } : {}),
              limit: Number(flags.limit),
            }),
          { readOnly: true },
        );
        emit(Boolean(flags.json), rows, () =>
          table(
            rows.map((r) => ({
              at: r.occurred_at.toISOString(),
              actor: r.actor,
              action: r.action,
              target: r.target ?? '',
              from: r.source ?? '',
            })),
          ),
        );
      },
    );

  const privacy = program
    .command('privacy')
    .description(
      'privacy requests: delete, export, suppress — by userId, anonymousId, or an email / phone value',
    );
  const matching = (c: Command) =>
    c
      .argument('<identifier>', 'a userId, an anonymousId, or an identifying trait value (email, phone)')
      .option('--all-matching', 'act on every person the identifier matches (several can share an email)');
  matching(
    privacy
      .command('delete')
      .description('delete a person everywhere; keep only hashed tombstones so they stay deleted'),
  )
    .option('--tombstone-only', 'nobody has this identifier yet: only block it from ever being stored')
    .option('--json', 'print as one JSON document')
    .action(
      async (
        identifier: string,
        flags: { json?: boolean; allMatching?: boolean; tombstoneOnly?: boolean },
        cmd: Command,
      ) => {
        const r = await withWarehouse(cmd.optsWithGlobals(), (wh) =>
          deletePerson(wh, identifier, CLI, {
            allMatching: Boolean(flags.allMatching),
            tombstoneOnly: Boolean(flags.tombstoneOnly),
          }),
        );
        emit(Boolean(flags.json), r, () =>
          [
            flags.tombstoneOnly
              ? `tombstone recorded: ${r.tombstone} (nobody had this identifier)`
              : `deleted ${r.persons} ${r.persons === 1 ? 'person' : 'people'} (${r.identifiers} identifiers); tombstone ${r.tombstone}`,
            ...(r.persons
              ? [
                  table(Object.entries(r.rows).map(([t, n]) => ({ table: t, rows: n }))),
                  `files rewritten: ${r.filesRewritten}`,
                  `request ${r.requestId}: erasure from storage pending — run \`segflow privacy erase\``,
                ]
              : []),
          ].join('\n'),
        );
      },
    );
  matching(
    privacy.command('export').description('everything held about a person, as JSON (an access request)'),
  )
    .option('--out <file>', 'write to this file instead of standard output')
    .option('--json', 'the same (the export is JSON either way)')
    .action(async (identifier: string, flags: { out?: string; allMatching?: boolean }, cmd: Command) => {
      const data = await withWarehouse(cmd.optsWithGlobals(), (wh) =>
        exportPerson(wh, identifier, CLI, { allMatching: Boolean(flags.allMatching) }),
      );
      if (flags.out) {
        writeFileSync(fromWorkingDir(flags.out), toJsonText(data));
        writeStdout(`${flags.out}\n`);
      } else writeStdout(`${toJsonText(data)}\n`);
    });
  matching(
    privacy.command('suppress').description('never message this person again (every identifier they have)'),
  )
    .option('--reason <text>', 'why (shown in the reasons of blocked deliveries)')
    .option('--json', 'print as one JSON document')
    .action(
      async (
        identifier: string,
        flags: { reason?: string; json?: boolean; allMatching?: boolean },
        cmd: Command,
      ) => {
        const r = await withWarehouse(cmd.optsWithGlobals(), (wh) =>
          suppressPerson(wh, identifier, flags.reason ?? null, CLI, {
            allMatching: Boolean(flags.allMatching),
          }),
        );
        emit(
          Boolean(flags.json),
          r,
          () =>
            `suppressed ${r.persons} ${r.persons === 1 ? 'person' : 'people'} (${r.identifiers} identifiers)`,
        );
      },
    );
  privacy
    .command('erase')
    .description(
      'make completed deletes reach storage: rewrite the database file (or ClickHouse tables) and clear the loaded intake log (server stopped)',
    )
    .option('--intake-log <dir>', "the collector's intake log (default: <database>.intake)")
    .option('--json', 'print as one JSON document')
    .action(async (flags: { intakeLog?: string; json?: boolean }, cmd: Command) => {
      const { dbPath, clickhouse } = requireDatabaseClosed(
        cmd.optsWithGlobals(),
        'privacy erase',
        'stop the server (Ctrl-C, or kill -TERM its pid) and run `segflow privacy erase`; or just restart it: `segflow serve` erases pending requests when it starts',
      );
      const r = await eraseFromStorage({
        dbPath,
        ...(clickhouse ? { clickhouse } : {}),
        ...(flags.intakeLog ? { intakeLog: flags.intakeLog } : {}),
      });
      emit(Boolean(flags.json), r, () =>
        [
          `erased: ${r.requests} pending ${r.requests === 1 ? 'request' : 'requests'} reached storage at ${r.erasedAt.toISOString()}`,
          r.database.tables
            ? `ClickHouse tables rewritten: ${r.database.tables.length ? r.database.tables.join(', ') : 'none'} (parts: ${r.database.bytesBefore} → ${r.database.bytesAfter} bytes)`
            : `database rewritten: ${r.database.bytesBefore} → ${r.database.bytesAfter} bytes`,
          `intake log segments cleared: ${r.intakeSegments}`,
        ].join('\n'),
      );
    });
  privacy
    .command('status')
    .description('privacy requests, newest first: pending erasures and when completed ones reached storage')
    .option('--json', 'print as one JSON document')
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      const rows = await withWarehouse(cmd.optsWithGlobals(), (wh) => privacyStatus(wh), { readOnly: true });
      emit(Boolean(flags.json), rows, () =>
        rows.length
          ? table(
              rows.map((r) => ({
                request: r.id,
                kind: r.kind,
                people: r.persons,
                requested: r.requestedAt.toISOString(),
                erased: r.erasedAt ? r.erasedAt.toISOString() : 'pending',
              })),
            )
          : 'no privacy requests',
      );
    });

  const govern = program.command('govern').description('retention and the segment review');
  govern
    .command('purge')
    .description('delete events older than their retention window (retention: in segflow.config.yaml)')
    .option('--as-of <time>', 'now, for the windows (default now)')
    .option('--dry-run', 'count what would go, delete nothing')
    .option('--json', 'print as one JSON document')
    .action(async (flags: { asOf?: string; dryRun?: boolean; json?: boolean }, cmd: Command) => {
      const rules = retentionConfig(loadConfig().retention);
      if (!Object.keys(rules).length) {
        throw new SegflowError(
          'CONFIG_INVALID',
          'no retention windows are configured',
          'add e.g. retention: { "Page Viewed": 13mo, "Order Completed": 7y, default: 2y } to segflow.config.yaml',
        );
      }
      const r = await withWarehouse(cmd.optsWithGlobals(), (wh) =>
        purgeExpired(wh, rules, { asOf: parseAsOf(flags.asOf), dryRun: Boolean(flags.dryRun) }),
      );
      emit(Boolean(flags.json), r, () =>
        table(
          r.rules.map((x) => ({
            events: x.key,
            keep: x.keep,
            'older than': x.before.toISOString(),
            [r.dryRun ? 'would delete' : 'deleted']: x.events,
          })),
        ),
      );
    });
  govern
    .command('review')
    .description(
      'every segment: size and trend, overlap, last change, lift of its plays — keep, merge or retire, with reasons',
    )
    .option('--as-of <time>', 'read lift as of this time (default now)')
    .option('--apply', 'retire the segments the review says to retire (their history stays)')
    .option('--json', 'print as one JSON document')
    .action(async (flags: { asOf?: string; apply?: boolean; json?: boolean }, cmd: Command) => {
      const reviews = await withWarehouse(cmd.optsWithGlobals(), async (wh) => {
        const r = await reviewSegments(wh, { asOf: parseAsOf(flags.asOf) });
        if (flags.apply)
          for (const x of r.filter((y) => y.recommendation === 'retire')) await retireSegment(wh, x.segment);
        return r;
      });
      emit(Boolean(flags.json), reviews, () =>
        reviews
          .map(
            (r) =>
              `${r.recommendation.toUpperCase().padEnd(6)} ${r.segment} — ${r.size} people (${(100 * r.share).toFixed(1)}%), v${r.version}` +
              `${r.lastChanged ? `, changed ${r.lastChanged.toISOString().slice(0, 10)}` : ''}\n         ${r.reasons.join('\n         ')}`,
          )
          .join('\n'),
      );
    });
}
