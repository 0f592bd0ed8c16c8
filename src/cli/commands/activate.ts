import type { Command } from 'commander';
import { runActivation } from '../../activate/activate-run.js';
import { deliveryActivity } from '../../activate/delivery-activity.js';
import { exportAudience, listAudienceExports } from '../../activate/destinations/audience-file.js';
import { type DeliveryStatus, listDeliveries, retryDeliveries } from '../../activate/outbox.js';
import { testSendPlay } from '../../activate/play-test-send.js';
import { loadPlaybook } from '../../activate/playbook.js';
import { checkPlaybookFile, playbookCheckError } from '../../activate/playbook-check.js';
import { playbookPath } from '../../activate/playbook-file.js';
import { loadConfig } from '../../config/config.js';
import { SegflowError } from '../../errors.js';
import { auditDefinitionChanges, cliActor, definitionVersions } from '../../govern/audit.js';
import { DEFAULT_KPIS, measureConfig } from '../../measure/kpi.js';
import { decide } from '../../personalize/decide.js';
import { DEFAULT_SEGMENTS_DIR, loadDefinitions } from '../../segment/load-definitions.js';
import { parseAsOf, withWarehouse } from '../context.js';
import { emit, table, toJsonText } from '../output.js';

const STATUSES: DeliveryStatus[] = ['pending', 'deferred', 'sent', 'withheld', 'blocked', 'skipped', 'dead'];

export function registerActivate(program: Command): void {
  const activate = program
    .command('activate')
    .description('Activate: run the playbook — triggers, guards, outbox');
  activate
    .command('run')
    .description('turn segment changes and schedule ticks into deliveries, then send what is due')
    .option(
      '--playbook <file>',
      'the playbook (default: playbook: in segflow.config.yaml, else ./playbook.yaml)',
    )
    .option('--as-of <time>', 'the time to act as of (default now)')
    .option(
      '--include-current',
      'a new play (on enter) also decides about everyone already in its segment, instead of counting them as history',
    )
    .option('--json', 'print as one JSON document')
    .action(
      async (
        flags: { playbook?: string; asOf?: string; includeCurrent?: boolean; json?: boolean },
        cmd: Command,
      ) => {
        const pb = loadPlaybook(playbookPath(flags.playbook));
        const r = await withWarehouse(cmd.optsWithGlobals(), async (wh) => {
          const versions = await definitionVersions(wh, 'plays');
          const run = await runActivation(wh, pb, {
            asOf: parseAsOf(flags.asOf),
            includeCurrent: Boolean(flags.includeCurrent),
          });
          await auditDefinitionChanges(wh, 'plays', versions, { actor: cliActor(), source: 'cli' });
          return run;
        });
        emit(Boolean(flags.json), r, () =>
          [
            `activation as of ${r.asOf.toISOString()}`,
            table(r.plays.map(({ started: _, ...p }) => ({ ...p }))),
            // A new play does not message people who were in its segment before it existed; say so, once.
            ...r.plays.flatMap((p) =>
              p.started && p.started.currentMembers > 0
                ? [
                    p.started.included
                      ? `new play ${p.play}: decided about its segment's ${p.started.currentMembers.toLocaleString('en-US')} current members (--include-current)`
                      : `new play ${p.play}: its segment's ${p.started.currentMembers.toLocaleString('en-US')} current members count as history and get nothing; only people who enter from now on do (to include them, run with --include-current before the play's next run)`,
                  ]
                : [],
            ),
            `outbox: ${r.outbox.sent} sent, ${r.outbox.deferred} deferred, ${r.outbox.retried} to retry, ${r.outbox.blocked} blocked, ${r.outbox.dead} dead`,
          ].join('\n'),
        );
      },
    );

  activate
    .command('test')
    .description(
      'a dry run of one play for one person: the message its destination would get (--send: send it); records nothing',
    )
    .argument('<play>', 'the play name')
    .argument('<person>', 'any identifier of the person whose traits fill the message')
    .option('--to <address>', 'send to this email address (email) or URL (webhook, http_sync) instead')
    .option('--variant <name>', 'the content variant (default: the first)')
    .option('--send', 'send it (default: only show it)')
    .option('--playbook <file>', 'the playbook (default: as for activate run)')
    .option('--json', 'print as one JSON document')
    .action(
      async (
        play: string,
        person: string,
        flags: { to?: string; variant?: string; send?: boolean; playbook?: string; json?: boolean },
        cmd: Command,
      ) => {
        const pb = loadPlaybook(playbookPath(flags.playbook));
        const r = await withWarehouse(
          cmd.optsWithGlobals(),
          (wh) =>
            testSendPlay(wh, pb, {
              play,
              person,
              ...(flags.to !== undefined ? { to: flags.to } : {}),
              ...(flags.variant !== undefined ? { variant: flags.variant } : {}),
              send: Boolean(flags.send),
            }),
          { readOnly: true },
        );
        // A send that did not go (refused by the guards, or by the destination) is a failure: exit 1 with why.
        if (r.result && !r.result.ok) {
          throw new SegflowError(
            'SEND_REFUSED',
            `test send of ${r.play} to ${r.to ?? person} not sent: ${r.result.error ?? 'the destination refused it'}`,
            r.sent
              ? `check the destination '${r.destination}' (${r.destinationType}) and try again`
              : 'to see the message, leave out --send; to send it to yourself, add --to ADDRESS',
          );
        }
        emit(Boolean(flags.json), r, () =>
          [
            `${r.sent ? 'test send' : 'dry run'} of ${r.play} → ${r.destination} (${r.destinationType})${r.to ? ` to ${r.to}` : ''}`,
            toJsonText({ traits: r.message.traits, content: r.message.content }),
            ...r.notes.map((n) => `note: ${n}`),
            r.result
              ? r.result.ok
                ? `sent${r.result.detail ? `: ${r.result.detail}` : ''}`
                : `failed: ${r.result.error}`
              : 'not sent (pass --send to send it)',
          ].join('\n'),
        );
      },
    );

  program
    .command('playbook')
    .description('check a playbook file: every problem with its file, line, path and fix')
    .command('check')
    .description('the file, its cron expressions, and that every segment and KPI it names exists')
    .argument('[file]', 'the playbook (default: as for activate run)')
    .option('--dir <folder>', 'segment files (default: segments: in segflow.config.yaml, else ./segments)')
    .option('--json', 'print as one JSON document')
    .action((file: string | undefined, flags: { dir?: string; json?: boolean }) => {
      const config = loadConfig();
      const segmentsDir = flags.dir ?? config.segments ?? DEFAULT_SEGMENTS_DIR;
      const segments = loadDefinitions(segmentsDir);
      const check = checkPlaybookFile(playbookPath(file), {
        segments: segments.definitions.map((d) => d.definition.name),
        segmentsDir,
        brokenSegmentFiles: [...new Set(segments.problems.map((p) => p.file))],
        kpis: [
          ...new Set([...Object.keys(measureConfig(config.measure).kpis), ...Object.keys(DEFAULT_KPIS)]),
        ],
      });
      if (!check.playbook || !check.ok) throw playbookCheckError(check);
      const pb = check.playbook;
      emit(Boolean(flags.json), pb, () =>
        [
          `${playbookPath(file)}: ${pb.plays.length} plays, ${Object.keys(pb.destinations).length} destinations — ok`,
          table(
            pb.plays.map((p) => ({
              play: p.name,
              segment: p.segment,
              channel: p.channel,
              trigger: p.trigger.on,
              priority: p.priority,
              holdout: p.holdout,
              kpi: p.kpi ?? '',
            })),
          ),
        ].join('\n'),
      );
    });

  const deliveries = program
    .command('deliveries')
    .description('the outbox: what was sent, held, blocked or gave up');
  deliveries
    .command('list')
    .option('--status <status>', STATUSES.join(' | '))
    .option('--play <name>')
    .option('--person <id>', 'a canonical person id')
    .option('--limit <n>', 'newest first, at most this many', '50')
    .option('--json', 'print as one JSON document')
    .action(
      async (
        flags: { status?: string; play?: string; person?: string; limit: string; json?: boolean },
        cmd: Command,
      ) => {
        if (flags.status && !STATUSES.includes(flags.status as DeliveryStatus)) {
          throw new SegflowError(
            'USAGE',
            `unknown status '${flags.status}'`,
            `use one of ${STATUSES.join(', ')}`,
          );
        }
        const rows = await withWarehouse(
          cmd.optsWithGlobals(),
          (wh) =>
            listDeliveries(wh, {
              ...(flags.status ? { status: flags.status as DeliveryStatus } : {}),
              ...(flags.play ? { play: flags.play } : {}),
              ...(flags.person ? { personId: flags.person } : {}),
              limit: Number(flags.limit),
            }),
          { readOnly: true },
        );
        emit(Boolean(flags.json), rows, () =>
          table(
            rows.map((d) => ({
              id: d.id,
              play: d.play,
              person: d.person_id,
              variant: d.variant ?? '',
              status: d.status,
              reason: d.reason ?? '',
              attempts: d.attempts,
              occurred: d.occurred_at.toISOString(),
              sent_at: d.sent_at?.toISOString() ?? '',
              last_error: d.last_error ?? '',
            })),
          ),
        );
      },
    );
  deliveries
    .command('daily')
    .description('deliveries per day by status (one play or all), and how many are dead now')
    .option('--play <name>')
    .option('--days <n>', 'the last N days that have deliveries', '60')
    .option('--json', 'print as one JSON document')
    .action(async (flags: { play?: string; days: string; json?: boolean }, cmd: Command) => {
      const r = await withWarehouse(
        cmd.optsWithGlobals(),
        (wh) =>
          deliveryActivity(wh, { ...(flags.play ? { play: flags.play } : {}), days: Number(flags.days) }),
        { readOnly: true },
      );
      emit(Boolean(flags.json), r, () => `${table(r.days)}\n${r.dead.toLocaleString('en-US')} dead now`);
    });
  deliveries
    .command('retry')
    .description('put dead deliveries back in the queue (they go out on the next activate run)')
    .argument('[id]', 'one delivery')
    .option('--all-dead', 'every dead delivery')
    .option('--json', 'print as one JSON document')
    .action(async (id: string | undefined, flags: { allDead?: boolean; json?: boolean }, cmd: Command) => {
      const n = await withWarehouse(cmd.optsWithGlobals(), (wh) =>
        retryDeliveries(wh, {
          ...(id !== undefined ? { id: Number(id) } : {}),
          allDead: Boolean(flags.allDead),
        }),
      );
      emit(Boolean(flags.json), { requeued: n }, () => `${n} deliveries queued again`);
    });

  program
    .command('decide')
    .description('Personalize: the best play for one person now, with its content variant and the reasons')
    .argument('<person>', 'any identifier of the person')
    .option('--playbook <file>', 'the playbook (default: as for activate run)')
    .option('--as-of <time>', 'decide as of this time (default now); read-only: records no exposure')
    .option('--no-record', 'a preview: record no exposure (decisions now record those of in-app plays)')
    .option('--json', 'print as one JSON document')
    .action(
      async (
        person: string,
        flags: { playbook?: string; asOf?: string; record: boolean; json?: boolean },
        cmd: Command,
      ) => {
        const pb = loadPlaybook(playbookPath(flags.playbook));
        const record = flags.record && flags.asOf === undefined;
        const d = await withWarehouse(
          cmd.optsWithGlobals(),
          (wh) => decide(wh, pb, person, { asOf: parseAsOf(flags.asOf), record }),
          { readOnly: !record },
        );
        emit(Boolean(flags.json), d, () =>
          [
            d.personId
              ? `person ${d.personId}, in: ${d.segments.join(', ') || '(no segment)'}`
              : `no person '${person}'`,
            d.play
              ? `→ ${d.play.name}: ${d.play.offer} (${d.play.channel}, variant ${d.play.variant})`
              : '→ no play',
            ...d.candidates.map(
              (c) =>
                `  ${c.eligible ? '✓' : '✗'} ${c.play} (priority ${c.priority}): ${c.reasons.join('; ')}`,
            ),
            d.recording.recorded
              ? `exposures: ${d.exposures.map((e) => `${e.play} (${e.arm})`).join(', ') || 'none new (already exposed this episode)'}`
              : `exposures: none — ${d.recording.note}`,
          ].join('\n'),
        );
      },
    );

  const audiences = program.command('audiences').description('audience files for ad networks and CRMs');
  audiences
    .command('export')
    .description("a segment's members (full) or who joined and left since the last export (--delta)")
    .argument('<segment>')
    .option('--format <format>', 'csv | parquet', 'csv')
    .option('--delta', 'only changes since the last export of this segment (action add / remove)')
    .option('--dir <dir>', 'where to write', 'audiences')
    .option(
      '--trait <name>',
      'a trait column (repeat)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option(
      '--hashed-email',
      'add email_sha256 (lowercased, trimmed email, SHA-256), as ad networks match on',
    )
    .option('--as-of <time>', 'members as of this time (default now)')
    .option('--json', 'print as one JSON document')
    .action(
      async (
        segment: string,
        flags: {
          format: string;
          delta?: boolean;
          dir: string;
          trait: string[];
          hashedEmail?: boolean;
          asOf?: string;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        if (flags.format !== 'csv' && flags.format !== 'parquet') {
          throw new SegflowError(
            'USAGE',
            `--format must be csv or parquet (got '${flags.format}')`,
            'e.g. --format parquet',
          );
        }
        const format = flags.format;
        const r = await withWarehouse(cmd.optsWithGlobals(), (wh) =>
          exportAudience(wh, {
            segment,
            format,
            mode: flags.delta ? 'delta' : 'full',
            dir: flags.dir,
            traits: flags.trait,
            hashedEmail: Boolean(flags.hashedEmail),
            asOf: parseAsOf(flags.asOf),
          }),
        );
        emit(Boolean(flags.json), r, () => `wrote ${r.rows} rows (${r.mode}) to ${r.path}`);
      },
    );
  audiences
    .command('list')
    .option('--json', 'print as one JSON document')
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      const rows = await withWarehouse(cmd.optsWithGlobals(), (wh) => listAudienceExports(wh), {
        readOnly: true,
      });
      emit(Boolean(flags.json), rows, () =>
        table(
          rows.map((r) => ({
            id: r.id,
            segment: r.segment,
            mode: r.mode,
            format: r.format,
            rows: r.rows,
            path: r.path,
          })),
        ),
      );
    });
}
