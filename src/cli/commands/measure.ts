import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { SegflowError } from '../../errors.js';
import { kpiByName, measureConfig } from '../../measure/kpi.js';
import { type MeasureReport, measureReport, playOf } from '../../measure/measure-report.js';
import { parseAsOf, withWarehouse } from '../context.js';
import { emit } from '../output.js';
import { liftText } from './stats.js';

interface ReportFlags {
  kpi?: string;
  holdoutShare?: string;
  segment: string[];
  asOf?: string;
  alpha: string;
  json?: boolean;
}

const pText = (p: number | null) => (p === null ? '' : p < 0.0001 ? p.toExponential(2) : p.toFixed(4));

export function measureText(r: MeasureReport): string {
  const lines = [
    `play ${r.play}: exposures ${r.firstExposure?.toISOString().slice(0, 10)} … ${r.lastExposure?.toISOString().slice(0, 10)}, read as of ${r.asOf.toISOString()}`,
    `arms: ${r.arms.map((a) => `${a.arm} ${a.people.toLocaleString('en-US')}`).join(', ')}`,
  ];
  if (r.srm) {
    lines.push(
      `sample ratio: planned holdout ${(100 * r.holdoutShare!).toFixed(1)} %, χ² ${r.srm.chiSquare.toFixed(3)}, p ${pText(r.srm.pValue)}${r.srm.flagged ? ' — MISMATCH: the split is not what was planned; do not trust the lift until the cause is found' : ' (ok)'}`,
    );
  }
  for (const row of r.rows) {
    lines.push(
      '',
      `${row.kpi} (${row.kind})${row.segment ? ` in segment ${row.segment}` : ''}${row.pending ? ` — ${row.pending} people still inside their window, not counted` : ''}`,
    );
    if (!row.lift) {
      lines.push(`  no lift: ${row.note}`);
      continue;
    }
    lines.push(liftText(row.cuped ?? row.lift));
    if (row.holmP !== null) {
      lines.push(
        `adjusted p (over ${r.rows.filter((x) => x.lift).length} comparisons): Holm ${pText(row.holmP)}, Benjamini-Hochberg ${pText(row.benjaminiHochbergP)}`,
      );
    }
  }
  if (r.mde) {
    lines.push(
      '',
      `minimum detectable lift of ${r.rows[0]?.kpi} at 80 % power with these people: ${r.mde.absolute.toPrecision(3)}${r.mde.relative !== null ? ` (${(100 * r.mde.relative).toFixed(1)} % of the holdout's ${r.mde.baseline.toPrecision(3)})` : ''}`,
    );
  }
  return lines.join('\n');
}

export function registerMeasure(program: Command): void {
  const measure = program
    .command('measure')
    .description('Measure: the lift of every play, against its holdout');
  measure
    .command('report')
    .description(
      'per KPI (and segment): per-arm n, mean and variance; absolute and relative lift with CIs and p-values; CUPED; SRM; Holm and BH; MDE',
    )
    .argument('<play>', 'the play name')
    .option(
      '--kpi <names>',
      'KPIs, comma-separated (measure.kpis in segflow.config.yaml, or the built-in ones)',
      'conversion_rate,revenue_per_person',
    )
    .option(
      '--holdout-share <share>',
      'the planned holdout share, for the sample-ratio check and the MDE (e.g. 0.1)',
    )
    .option(
      '--segment <name>',
      'also report within this segment (membership at first exposure); repeat',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--as-of <time>', 'read the report as of this time (default now)')
    .option('--alpha <a>', 'significance level', '0.05')
    .option('--json', 'print as one JSON document')
    .action(async (play: string, flags: ReportFlags, cmd: Command) => {
      const cfg = measureConfig(loadConfig().measure);
      const names =
        flags.kpi ??
        (await withWarehouse(
          cmd.optsWithGlobals(),
          async (wh) => {
            const kpi = (await playOf(wh, play))?.kpi;
            return [...new Set([kpi, 'conversion_rate', 'revenue_per_person'].filter(Boolean))].join(',');
          },
          { readOnly: true },
        ));
      const kpis = names
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean)
        .map((name) => ({ name, definition: kpiByName(cfg, name) }));
      const holdoutShare = flags.holdoutShare === undefined ? undefined : Number(flags.holdoutShare);
      if (holdoutShare !== undefined && !(holdoutShare > 0 && holdoutShare < 1)) {
        throw new SegflowError(
          'USAGE',
          `--holdout-share must be between 0 and 1 (got ${flags.holdoutShare})`,
          'e.g. --holdout-share 0.1',
        );
      }
      const report = await withWarehouse(
        cmd.optsWithGlobals(),
        (wh) =>
          measureReport(wh, {
            play,
            kpis,
            ...(holdoutShare !== undefined ? { holdoutShare } : {}),
            segments: flags.segment,
            asOf: parseAsOf(flags.asOf),
            purchaseEvents: cfg.purchaseEvents,
            alpha: Number(flags.alpha),
          }),
        { readOnly: true },
      );
      emit(Boolean(flags.json), report, () => measureText(report));
    });
}
