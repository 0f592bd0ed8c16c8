import type { Command } from 'commander';
import { cliActor, recordAudit } from '../../govern/audit.js';
import { personTimeline } from '../../instrument/person-timeline.js';
import { squashPersonOverrides } from '../../instrument/persons-on-events.js';
import { getPerson } from '../../instrument/profiles.js';
import { summarize } from '../../instrument/summary.js';
import { withWarehouse } from '../context.js';
import { emit, table, toJsonText } from '../output.js';

export function registerQueries(program: Command): void {
  program
    .command('sql')
    .description(
      'run one read-only SQL query (SELECT); tables: events, persons, identities, accounts, person_events',
    )
    .argument('<query>', 'a single SELECT statement')
    .option('--json', 'print {columns, rows} as one JSON document')
    .action(async (query: string, flags: { json?: boolean }, cmd: Command) => {
      const result = await withWarehouse(cmd.optsWithGlobals(), (wh) => wh.readOnlyQuery(query), {
        readOnly: true,
      });
      emit(
        Boolean(flags.json),
        result,
        () => `${table(result.rows, result.columns)}\n(${result.rows.length} rows)`,
      );
    });

  program
    .command('stats')
    .description('summarise what the database holds: events, persons, accounts, revenue, top events')
    .option('--json', 'print as one JSON document')
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      const s = await withWarehouse(cmd.optsWithGlobals(), (wh) => summarize(wh), { readOnly: true });
      emit(Boolean(flags.json), s, () =>
        [
          `events      ${s.events.toLocaleString('en-US')} (${s.firstEvent?.toISOString() ?? '-'} … ${s.lastEvent?.toISOString() ?? '-'})`,
          `persons     ${s.persons.toLocaleString('en-US')} (${s.identifiedPersons.toLocaleString('en-US')} identified)`,
          `accounts    ${s.accounts.toLocaleString('en-US')}`,
          `revenue     ${s.revenue.toLocaleString('en-US', { minimumFractionDigits: 2 })} from ${s.purchasers.toLocaleString('en-US')} purchasers`,
          `rejected    ${s.rejected.toLocaleString('en-US')}`,
          '',
          table(s.topEvents),
        ].join('\n'),
      );
    });

  const persons = program.command('persons').description('look up people');
  persons
    .command('squash')
    .description(
      'fold pending identity merges (person overrides) into the person id stored on each event; every refresh does this first',
    )
    .option('--json', 'print as one JSON document')
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      const r = await withWarehouse(cmd.optsWithGlobals(), (wh) => squashPersonOverrides(wh));
      emit(Boolean(flags.json), r, () =>
        r.overrides
          ? `folded ${r.overrides.toLocaleString('en-US')} identity merges into ${r.events.toLocaleString('en-US')} events`
          : 'no pending identity merges',
      );
    });
  persons
    .command('show')
    .description(
      "a person's profile by any identifier: canonical id, identifiers, traits, consent, recent events",
    )
    .argument('<identifier>', 'a userId, anonymousId or person id')
    .option('--json', 'print as one JSON document')
    .action(async (identifier: string, flags: { json?: boolean }, cmd: Command) => {
      // Reading one person's data is audited (Govern), so this opens the database for writing.
      const p = await withWarehouse(cmd.optsWithGlobals(), async (wh) => {
        const person = await getPerson(wh, identifier);
        await recordAudit(wh, {
          actor: cliActor(),
          action: 'person.read',
          target: identifier,
          source: 'cli',
        });
        return person;
      });
      emit(Boolean(flags.json), p, () =>
        [
          `person      ${p.personId}${p.identified ? '' : ' (anonymous)'}`,
          `identifiers ${p.identifiers.map((i) => i.identifier + (i.isUser ? '' : ' (anon)')).join(', ')}`,
          `seen        ${p.firstSeen.toISOString()} … ${p.lastSeen.toISOString()} (${p.eventCount} events)`,
          `traits      ${toJsonText(p.traits, false)}`,
          `consent     ${toJsonText(p.consent, false)}`,
          `accounts    ${p.accounts.join(', ') || '-'}`,
          '',
          table(p.recentEvents),
        ].join('\n'),
      );
    });

  persons
    .command('events')
    .description("a person's events with their properties, newest first, a page at a time")
    .argument('<identifier>', 'a userId, anonymousId or person id')
    .option('--page <n>', 'page number, from 0', '0')
    .option('--page-size <n>', 'events per page', '50')
    .option('--json', 'print as one JSON document')
    .action(
      async (identifier: string, flags: { page: string; pageSize: string; json?: boolean }, cmd: Command) => {
        // Reading one person's data is audited (Govern), as `persons show` is.
        const t = await withWarehouse(cmd.optsWithGlobals(), async (wh) => {
          const timeline = await personTimeline(wh, identifier, {
            page: Number(flags.page),
            pageSize: Number(flags.pageSize),
          });
          await recordAudit(wh, {
            actor: cliActor(),
            action: 'person.read',
            target: identifier,
            source: 'cli',
          });
          return timeline;
        });
        emit(Boolean(flags.json), t, () =>
          [
            `${t.personId}: events ${t.page * t.pageSize + 1}–${t.page * t.pageSize + t.events.length} of ${t.total}`,
            table(
              t.events.map((e) => ({
                ts: e.ts.toISOString(),
                type: e.type,
                event: e.event ?? e.name ?? '',
                properties: toJsonText(e.properties, false),
              })),
            ),
          ].join('\n'),
        );
      },
    );

  program
    .command('rejects')
    .description('rows that failed validation, newest first, with their problems')
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'print as one JSON document')
    .action(async (flags: { json?: boolean; limit: string }, cmd: Command) => {
      const rows = await withWarehouse(
        cmd.optsWithGlobals(),
        (wh) =>
          wh.query<{
            rejected_at: Date;
            source: string;
            row_no: number | null;
            message_id: string | null;
            problems: string;
          }>(
            'SELECT rejected_at, source, row_no, message_id, problems FROM rejected_events ORDER BY rejected_at DESC, row_no LIMIT ?',
            [Math.max(1, Number(flags.limit) || 20)],
          ),
        { readOnly: true },
      );
      const parsed = rows.map((r) => ({ ...r, problems: JSON.parse(r.problems) as string[] }));
      emit(Boolean(flags.json), parsed, () =>
        parsed.length === 0
          ? 'no rejected rows'
          : parsed.map((r) => `${r.source} row ${r.row_no ?? '-'}:\n  ${r.problems.join('\n  ')}`).join('\n'),
      );
    });
}
