import type { Command } from 'commander';
import { SegflowError } from '../../errors.js';
import type { ClusterColumn } from '../../model/clusters/clusters.js';
import {
  fitClusterModel,
  fitPurchaseModel,
  getModelFit,
  MODEL_NAMES,
  type ModelName,
  type StoredFit,
} from '../../model/predict/model-fits.js';
import { scorePredictions } from '../../model/predict/score.js';
import { parseDuration, parseTimeUnit, TIME_UNITS } from '../../model/predict/time-unit.js';
import { withWarehouse } from '../context.js';
import { emit, table } from '../output.js';

interface FitFlags {
  events: string;
  from?: string;
  to?: string;
  holdoutTo?: string;
  unit: string;
  eachPurchase?: boolean;
  query?: string;
  idColumn: string;
  column: string[];
  k: string;
  seed: string;
  json?: boolean;
}

const DAY_MS = 86_400_000;

/** A whole UTC day: YYYY-MM-DD → its 00:00. */
function parseDay(text: string, flag: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
  if (!d || d.toISOString().slice(0, 10) !== text) {
    throw new SegflowError(
      'USAGE',
      `${flag} must be a date YYYY-MM-DD (got '${text}')`,
      `e.g. ${flag} 1997-09-30`,
    );
  }
  return d;
}

function modelName(text: string): ModelName {
  const found = MODEL_NAMES.find((n) => n === text);
  if (!found) {
    throw new SegflowError('USAGE', `unknown model '${text}'`, `models: ${MODEL_NAMES.join(', ')}`);
  }
  return found;
}

/** name:high:low[:middle] → a column and its words. */
function parseColumn(spec: string): ClusterColumn {
  const [column, high, low, middle] = spec.split(':');
  if (!column || !high || !low) {
    throw new SegflowError(
      'USAGE',
      `--column '${spec}' needs a column name and its high and low words`,
      "e.g. --column 'frequency:frequent:infrequent' (optionally ':average' for the middle)",
    );
  }
  return middle ? { column, high, low, middle } : { column, high, low };
}

function parseKRange(text: string): { min: number; max: number } {
  const m = /^(\d+)(?:\.\.(\d+))?$/.exec(text);
  if (!m) throw new SegflowError('USAGE', `--k must be N or MIN..MAX (got '${text}')`, 'e.g. --k 2..8');
  return { min: Number(m[1]), max: Number(m[2] ?? m[1]) };
}

function fmt(v: unknown): string {
  return typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(5)) : String(v);
}

/** The human-readable report of a stored fit. */
function describeFit(f: StoredFit): string {
  const lines = [
    `${f.model} fit ${f.id}`,
    `fitted      ${f.fittedAt.toISOString()} in ${f.seconds.toFixed(3)} s`,
  ];
  const o = f.options as Record<string, unknown>;
  if (f.model === 'clusters') {
    const p = f.params as {
      k: number;
      clusters: { id: number; label: string; size: number; share: number }[];
    };
    lines.push(`rows        ${f.people}`, `query       ${o.sql}`, `k           ${p.k}`);
    const sil = (f.diagnostics as { silhouetteByK: Record<string, number> }).silhouetteByK;
    lines.push(
      `silhouette  ${Object.entries(sil)
        .map(([k, v]) => `k=${k}: ${v.toFixed(3)}`)
        .join(', ')}`,
      '',
    );
    lines.push(
      table(p.clusters.map((c) => ({ id: c.id, label: c.label, size: c.size, share: c.share.toFixed(3) }))),
    );
    return lines.join('\n');
  }
  lines.push(
    `purchases   ${(o.purchaseEvents as string[]).join(', ')}${o.sameDayAsOne ? ' (one per day)' : ''}`,
    `calibration ${o.start ?? '(first purchase)'} … ${o.end} (end exclusive)${o.holdoutEnd ? `, holdout to ${o.holdoutEnd}` : ''}`,
    `time unit   ${f.timeUnit ?? '-'}${f.model === 'bgnbd' ? ' (t_x, T and α are in this unit)' : ''}`,
    `people      ${f.people}`,
    `log-lik.    ${f.logLikelihood?.toFixed(2) ?? '-'}`,
    '',
    table(
      Object.entries(f.params).map(([name, value]) => ({
        parameter: name,
        estimate: fmt(value),
        'std. error': f.standardErrors ? fmt(f.standardErrors[name]) : '-',
      })),
    ),
  );
  const d = f.diagnostics as Record<string, unknown>;
  if (f.model === 'bgnbd') {
    const c = d.calibration as { actualRepeatPurchases: number; expectedRepeatPurchases: number };
    lines.push(
      '',
      `repeat purchases in calibration: actual ${fmt(c.actualRepeatPurchases)}, expected ${fmt(c.expectedRepeatPurchases)}`,
      '',
      'people by repeat purchases in calibration (actual vs expected)',
      table(
        (d.frequency as { x: string; actualPeople: number; expectedPeople: number }[]).map((r) => ({
          x: r.x,
          actual: fmt(r.actualPeople),
          expected: fmt(r.expectedPeople),
        })),
      ),
    );
    const h = d.holdout as
      | {
          length: number;
          actualPurchases: number;
          expectedPurchases: number;
          byFrequency: { x: string; people: number; actualMean: number; expectedMean: number }[];
        }
      | undefined;
    if (h) {
      lines.push(
        '',
        `holdout (${fmt(h.length)} ${f.timeUnit}): actual ${fmt(h.actualPurchases)} purchases, expected ${fmt(h.expectedPurchases)}`,
        'mean holdout purchases by calibration repeat purchases (conditional expectations)',
        table(
          h.byFrequency.map((r) => ({
            x: r.x,
            people: r.people,
            actual: fmt(r.actualMean),
            expected: fmt(r.expectedMean),
          })),
        ),
      );
    }
  } else {
    lines.push(
      '',
      `mean observed order value ${fmt(d.meanObservedOrderValue)}, model population mean ${fmt(d.populationMean)}`,
      `correlation of frequency and order value ${fmt(d.frequencyValueCorrelation)} (the model assumes ≈ 0)`,
      `repeat customers left out (no positive order value) ${d.repeatCustomersWithoutValue}`,
    );
  }
  return lines.join('\n');
}

export function registerModels(program: Command): void {
  const models = program
    .command('models')
    .description('predictive models: BG/NBD (purchases, P(alive)), Gamma-Gamma (order value, CLV), clusters');

  models
    .command('fit')
    .description(
      'fit a model and store it (bgnbd and gammagamma: on purchase histories; clusters: on a query)',
    )
    .argument('<name>', MODEL_NAMES.join(' | '))
    .option('--events <names>', 'purchase track events, comma-separated', 'Order Completed')
    .option('--from <date>', 'calibration start day (UTC): the cohort is who first bought on or after it')
    .option('--to <date>', 'calibration last day (UTC, inclusive)')
    .option(
      '--holdout-to <date>',
      'holdout last day (UTC, inclusive): checks forecasts against what happened',
    )
    .option('--unit <unit>', `time unit of t_x, T and α: ${TIME_UNITS.join(', ')}`, 'weeks')
    .option('--each-purchase', 'count every purchase event (default: purchases on one day count once)')
    .option('--query <sql>', 'clusters: a SELECT returning the id column and the chosen columns')
    .option('--id-column <name>', 'clusters: the id column of the query', 'person_id')
    .option(
      '--column <name:high:low[:middle]>',
      'clusters: a column and its words (repeat)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--k <range>', 'clusters: candidate numbers of clusters, N or MIN..MAX', '2..8')
    .option('--seed <n>', 'clusters: random seed (same seed, same clusters)', '1')
    .option('--json', 'print the stored fit as one JSON document')
    .action(async (name: string, flags: FitFlags, cmd: Command) => {
      const model = modelName(name);
      const fit = await withWarehouse(cmd.optsWithGlobals(), async (wh) => {
        if (model === 'clusters') {
          if (!flags.query || flags.column.length === 0) {
            throw new SegflowError(
              'USAGE',
              'clusters need --query and at least one --column',
              "e.g. --query 'SELECT person_id, frequency, spend FROM …' --column frequency:frequent:infrequent",
            );
          }
          return fitClusterModel(wh, {
            sql: flags.query,
            idColumn: flags.idColumn,
            columns: flags.column.map(parseColumn),
            kRange: parseKRange(flags.k),
            seed: Number(flags.seed),
          });
        }
        if (!flags.to) {
          throw new SegflowError(
            'USAGE',
            `${model} needs the calibration window's last day`,
            'e.g. --to 1997-09-30',
          );
        }
        const end = new Date(parseDay(flags.to, '--to').getTime() + DAY_MS);
        return fitPurchaseModel(wh, {
          model,
          purchases: {
            events: flags.events
              .split(',')
              .map((e) => e.trim())
              .filter(Boolean),
            sameDayAsOne: !flags.eachPurchase,
          },
          window: {
            ...(flags.from ? { start: parseDay(flags.from, '--from') } : {}),
            end,
            ...(flags.holdoutTo
              ? { holdoutEnd: new Date(parseDay(flags.holdoutTo, '--holdout-to').getTime() + DAY_MS) }
              : {}),
          },
          timeUnit: parseTimeUnit(flags.unit),
        });
      });
      emit(Boolean(flags.json), fit, () => describeFit(fit));
    });

  models
    .command('report')
    .description('the last fit of a model: its data window, parameters, log-likelihood and diagnostics')
    .argument('<name>', MODEL_NAMES.join(' | '))
    .option('--id <fit-id>', 'a particular fit instead of the last')
    .option('--json', 'print as one JSON document')
    .action(async (name: string, flags: { id?: string; json?: boolean }, cmd: Command) => {
      const model = modelName(name);
      const fit = await withWarehouse(
        cmd.optsWithGlobals(),
        (wh) => getModelFit(wh, { model, id: flags.id }),
        {
          readOnly: true,
        },
      );
      emit(Boolean(flags.json), fit, () => describeFit(fit));
    });

  models
    .command('score')
    .description('write P(alive), expected purchases and CLV per person to the predictions table')
    .option('--as-of <date>', 'histories end at the start of this day (UTC); default now')
    .option('--horizon <duration>', 'expected purchases over this, e.g. "39 weeks"', '52 weeks')
    .option('--clv-horizon <duration>', 'lifetime value over this, e.g. "12 months" (needs a gammagamma fit)')
    .option('--discount <rate/unit>', 'discount rate per period for CLV, e.g. 0.01/month', '0.01/month')
    .option('--json', 'print the summary as one JSON document')
    .action(
      async (
        flags: { asOf?: string; horizon: string; clvHorizon?: string; discount: string; json?: boolean },
        cmd: Command,
      ) => {
        const [rate, per] = flags.discount.split('/');
        if (!rate || !per || !Number.isFinite(Number(rate))) {
          throw new SegflowError(
            'USAGE',
            `--discount '${flags.discount}' is not RATE/UNIT`,
            'e.g. --discount 0.01/month',
          );
        }
        const summary = await withWarehouse(cmd.optsWithGlobals(), (wh) =>
          scorePredictions(wh, {
            ...(flags.asOf ? { asOf: parseDay(flags.asOf, '--as-of') } : {}),
            horizon: parseDuration(flags.horizon),
            ...(flags.clvHorizon
              ? {
                  clv: {
                    horizon: parseDuration(flags.clvHorizon),
                    discount: { rate: Number(rate), per: parseTimeUnit(per) },
                  },
                }
              : {}),
          }),
        );
        emit(Boolean(flags.json), summary, () =>
          [
            `scored ${summary.people} people as of ${summary.asOf.toISOString()}`,
            `expected purchases over ${summary.purchasesHorizon} (fit ${summary.bgnbdFit})`,
            summary.clvHorizon ? `CLV over ${summary.clvHorizon} (fit ${summary.gammaGammaFit})` : 'no CLV',
            'read them with: segflow sql "SELECT * FROM predictions ORDER BY clv DESC LIMIT 10"',
          ].join('\n'),
        );
      },
    );
}
