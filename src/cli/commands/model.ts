import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { SegflowError } from '../../errors.js';
import { cliActor, recordAudit } from '../../govern/audit.js';
import { featureList, featuresByName } from '../../model/feature-names.js';
import { lifecycleReport } from '../../model/lifecycle-trend.js';
import { modelConfig } from '../../model/model-config.js';
import { predictionDistributions } from '../../model/prediction-distributions.js';
import { personFeatures } from '../../model/refresh-features.js';
import { funnelReport, rfmReport } from '../../model/reports.js';
import { parseAsOf, withWarehouse } from '../context.js';
import { emit, log, table } from '../output.js';
import { asOfWarnings } from '../warnings.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** `segflow features PERSON`, `segflow features --list`, `segflow report rfm|funnel|lifecycle|scores`. */
export function registerModel(program: Command): void {
  program
    .command('features')
    .description("one person's behavioral features (any identifier), or --list for every feature name")
    .argument('[person]', 'userId, anonymousId or person id')
    .option('--as-of <time>', 'the latest refresh at or before this time')
    .option('--list', 'the feature names segments can use')
    .option('--json', 'print as one JSON document')
    .action(
      async (
        person: string | undefined,
        flags: { asOf?: string; list?: boolean; json?: boolean },
        cmd: Command,
      ) => {
        if (flags.list || !person) {
          const list = featureList(Object.keys(modelConfig(loadConfig().model).funnels));
          // Not the table: its cells are cut at 60 characters, and descriptions are longer.
          const width = Math.max(...list.map((e) => e.name.length));
          emit(Boolean(flags.json), list, () =>
            list.map((e) => `${e.name.padEnd(width)}  ${e.kind.padEnd(7)}  ${e.description}`).join('\n'),
          );
          return;
        }
        const asOf = parseAsOf(flags.asOf);
        const { row, warnings } = await withWarehouse(cmd.optsWithGlobals(), async (wh) => {
          const features = await personFeatures(wh, person, { asOf });
          await recordAudit(wh, { actor: cliActor(), action: 'person.read', target: person, source: 'cli' });
          return { row: features, warnings: await asOfWarnings(wh, asOf) };
        });
        if (!row) {
          throw new SegflowError(
            'NOT_FOUND',
            `no features for '${person}'`,
            'check the identifier with `segflow persons show`, and run `segflow refresh` if features were never computed',
          );
        }
        // Under the names a segment's `feature:` takes; the JSON keeps the columns too, for scripts that read them.
        const named = featuresByName(row);
        const width = Math.max(...Object.keys(named).map((k) => k.length));
        const shown = (v: unknown) =>
          v instanceof Date ? v.toISOString() : v === null || v === undefined ? '' : String(v);
        emit(Boolean(flags.json), { ...row, features: named, warnings }, () =>
          [
            `person ${String(row.person_id)}, features as of ${shown(row.as_of)}`,
            ...Object.entries(named).map(([k, v]) => `${k.padEnd(width)}  ${shown(v)}`),
          ].join('\n'),
        );
      },
    );

  const report = program
    .command('report')
    .description("reports over the features: rfm, funnel, lifecycle; the scores' spread");
  report
    .command('rfm')
    .description('the R×F grid with customers and revenue share, and the named groups')
    .option('--as-of <time>', 'the latest refresh at or before this time')
    .option('--json', 'print as one JSON document')
    .action(async (flags: { asOf?: string; json?: boolean }, cmd: Command) => {
      const asOf = parseAsOf(flags.asOf);
      const r = await withWarehouse(
        cmd.optsWithGlobals(),
        async (wh) => ({ ...(await rfmReport(wh, { asOf })), warnings: await asOfWarnings(wh, asOf) }),
        { readOnly: true },
      );
      emit(Boolean(flags.json), r, () => {
        const cell = (rr: number, f: number) => r.cells.find((c) => c.r === rr && c.f === f);
        const lines = [
          `RFM as of ${r.asOf.toISOString()}: ${r.customers.toLocaleString('en-US')} customers (${r.nonBuyers.toLocaleString('en-US')} people without a purchase)`,
          '',
        ];
        lines.push(`      ${[1, 2, 3, 4, 5].map((f) => `F=${f}`.padStart(16)).join('')}`);
        for (const rr of [5, 4, 3, 2, 1]) {
          lines.push(
            `R=${rr}  ${[1, 2, 3, 4, 5]
              .map((f) => {
                const c = cell(rr, f);
                return (c ? `${c.customers} (${pct(c.revenueShare)})` : '-').padStart(16);
              })
              .join('')}`,
          );
        }
        lines.push(
          '',
          table(
            r.groups.map((g) => ({
              group: g.group,
              customers: g.customers,
              share: pct(g.share),
              revenue: pct(g.revenueShare),
            })),
          ),
        );
        return lines.join('\n');
      });
    });
  report
    .command('funnel')
    .description('people per step, conversion and median time between steps of a configured funnel')
    .argument('<name>')
    .option('--as-of <time>', 'as of this time')
    .option('--by <feature>', 'split by a feature, e.g. rfm.group')
    .option('--json', 'print as one JSON document')
    .action(async (name: string, flags: { asOf?: string; by?: string; json?: boolean }, cmd: Command) => {
      const cfg = modelConfig(loadConfig().model);
      const asOf = parseAsOf(flags.asOf);
      const r = await withWarehouse(
        cmd.optsWithGlobals(),
        async (wh) => {
          const report = await funnelReport(wh, cfg, name, { asOf, by: flags.by });
          for (const w of report.warnings) log(`warning: ${w}`);
          return { ...report, warnings: [...report.warnings, ...(await asOfWarnings(wh, asOf))] };
        },
        { readOnly: true },
      );
      emit(Boolean(flags.json), r, () =>
        r.rows
          .map(
            (row) =>
              `${row.segment === null ? `funnel ${r.funnel}` : `${flags.by} = ${row.segment}`} (within ${r.within})\n${table(
                row.steps.map((s) => ({
                  step: s.step,
                  people: s.people,
                  'from previous': pct(s.fromPrevious),
                  'from start': pct(s.fromStart),
                  'median hours from previous':
                    s.medianHoursFromPrevious === null ? '' : s.medianHoursFromPrevious.toFixed(2),
                })),
              )}`,
          )
          .join('\n\n'),
      );
    });
  report
    .command('lifecycle')
    .description(
      'people per lifecycle stage at each of the last refreshes; engagement, intent and adoption tiers now',
    )
    .option('--refreshes <n>', 'how many refreshes back', '12')
    .option('--json', 'print as one JSON document')
    .action(async (flags: { refreshes: string; json?: boolean }, cmd: Command) => {
      const r = await withWarehouse(
        cmd.optsWithGlobals(),
        (wh) => lifecycleReport(wh, { refreshes: Number(flags.refreshes) }),
        { readOnly: true },
      );
      emit(Boolean(flags.json), r, () =>
        r.asOf === null
          ? 'no feature refresh yet: run `segflow refresh`'
          : [
              table(
                r.trend.map((t) => ({ 'as of': t.asOf.toISOString(), stage: t.stage, people: t.people })),
              ),
              '',
              `tiers as of ${r.asOf.toISOString()}`,
              table(r.tiers),
            ].join('\n'),
      );
    });
  report
    .command('scores')
    .description(
      'how the latest P(alive) and CLV scores (`models score`) spread over the customers, in 20 bins',
    )
    .option('--json', 'print as one JSON document')
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      const r = await withWarehouse(cmd.optsWithGlobals(), (wh) => predictionDistributions(wh), {
        readOnly: true,
      });
      const bins = (xs: { from: number; to: number; people: number }[], digits: number) =>
        table(xs.map((b) => ({ from: b.from.toFixed(digits), to: b.to.toFixed(digits), people: b.people })));
      emit(Boolean(flags.json), r, () =>
        r.asOf === null
          ? 'nobody is scored yet: run `segflow models score`'
          : [
              `${r.people.toLocaleString('en-US')} customers scored ${r.asOf.toISOString()}; mean P(alive) ${r.meanPAlive?.toFixed(3) ?? '-'}`,
              '',
              'P(alive)',
              bins(r.pAlive, 2),
              ...(r.clv.length
                ? ['', `CLV over ${r.clvHorizon ?? '-'} (the last bin holds the top 1%)`, bins(r.clv, 0)]
                : []),
            ].join('\n'),
      );
    });
}
