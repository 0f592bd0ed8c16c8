import type { Command } from 'commander';
import { fromWorkingDir } from '../../config/working-dir.js';
import { SegflowError } from '../../errors.js';
import type { ClusterColumn } from '../../model/clusters/clusters.js';
import type { PurchaseModelOptions, StoredFit } from '../../model/predict/model-fits.js';
import {
  isPurchaseModel,
  MODEL_NAMES,
  type ModelName,
  PURCHASE_MODELS,
  type PurchaseModelName,
} from '../../model/predict/model-names.js';
import { parseDuration, parseTimeUnit, TIME_UNITS } from '../../model/predict/time-unit.js';
import type { Classifier, importance, ModelChoice } from '../../model/propensity/classifier.js';
import type { Backtest } from '../../model/propensity/metrics.js';
import { withWarehouse } from '../context.js';
import { emit, table } from '../output.js';

interface FitFlags {
  horizon?: string;
  trainAsOf?: string;
  testAsOf?: string;
  lambda?: string;
  model: string;
  file?: string;
  label?: string;
  splitColumn?: string;
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
  assignAsOf?: string;
  json?: boolean;
}

const DAY_MS = 86_400_000;

/**
 * The propensity models' code and the config file's `model:` section, loaded by the commands that use them only: a
 * purchase model's fit or report needs neither (each module loaded is start-up time of every such command).
 */
async function propensityModules() {
  const [config, modelConfig, classifier, propensity, filePropensity] = await Promise.all([
    import('../../config/config.js'),
    import('../../model/model-config.js'),
    import('../../model/propensity/classifier.js'),
    import('../../model/propensity/propensity.js'),
    import('../../model/propensity/file-propensity.js'),
  ]);
  return {
    ...classifier,
    ...propensity,
    ...filePropensity,
    /** The config file's `model:` section. */
    config: () => modelConfig.modelConfig(config.loadConfig().model),
  };
}

/**
 * The fitting code (model-fits.js and the models it fits), loaded by the commands that use it. A fit starts loading it
 * before it opens the database, so that compiling it overlaps DuckDB's opening of the file (tens of milliseconds, on
 * another thread) instead of coming before it.
 */
function modelFits() {
  const loading = import('../../model/predict/model-fits.js');
  loading.catch(() => undefined); // awaited where used; a command that fails first must not also report this
  return loading;
}

/**
 * Once the fitting code is loaded, fit on made-up data (`warmUpPurchaseModels`) while DuckDB is still opening the
 * file (it was started first: the code loads in later callbacks), so that the real fit runs compiled.
 */
function warmUpWhileOpening(
  fitting: ReturnType<typeof modelFits>,
  models: readonly PurchaseModelName[],
): void {
  fitting.then((m) => m.warmUpPurchaseModels(models)).catch(() => undefined);
}

/** The reports of stored fits, one after another; a propensity model's needs the classifier code. */
async function describeFits(fits: readonly StoredFit[]): Promise<string> {
  const propensity = fits.some(
    (f) => f.model === 'churn' || f.model === 'purchase' || f.model === 'propensity',
  )
    ? await import('../../model/propensity/classifier.js')
    : undefined;
  return fits.map((f) => describeFit(f, propensity?.importance)).join('\n\n');
}

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
function describeFit(f: StoredFit, importanceOf?: typeof importance): string {
  const lines = [
    `${f.model} fit ${f.id}`,
    `fitted      ${f.fittedAt.toISOString()} in ${f.seconds.toFixed(3)} s`,
  ];
  const o = f.options as Record<string, unknown>;
  if (f.model === 'churn' || f.model === 'purchase' || f.model === 'propensity') {
    const diag = f.diagnostics as {
      backtest: Backtest;
      choice?: ModelChoice;
      candidates?: Record<string, { auc: number; logLoss: number }>;
      input?: { rows: number; unlabelledRows: number; columns: { column: string; encoding: string }[] };
    };
    const b = diag.backtest;
    const m = f.params as unknown as Classifier;
    const cv = diag.choice?.crossValidatedAuc;
    lines.push(
      f.model === 'propensity'
        ? `data        ${o.file} (label ${o.label}; ${o.split})`
        : `target      ${f.model === 'churn' ? 'no activity' : 'a purchase'} within ${o.horizon} after each snapshot`,
      ...(f.model === 'propensity'
        ? []
        : [
            `train       snapshots ${(o.trainAsOf as string[]).join(', ')}`,
            `test        snapshot ${o.testAsOf}`,
          ]),
      ...(diag.input
        ? [
            `input       ${diag.input.rows} rows${diag.input.unlabelledRows ? ` (${diag.input.unlabelledRows} without a label, left out)` : ''}; columns:`,
            table(diag.input.columns),
          ]
        : []),
      `model       ${m.kind === 'gbt' ? 'gradient-boosted trees' : 'logistic regression'}${
        diag.choice?.requested === 'auto' && cv
          ? ` (auto: ${diag.choice.folds}-fold cross-validated AUC logistic ${cv.logistic.toFixed(4)}, trees ${cv.gbt.toFixed(4)})`
          : ''
      }`,
      ...(diag.candidates && Object.keys(diag.candidates).length > 1
        ? [
            `test AUC    ${Object.entries(diag.candidates)
              .map(([k, c]) => `${k} ${c.auc.toFixed(4)}`)
              .join(', ')} (not used to choose)`,
          ]
        : []),
      `rows        ${f.people} training, ${b.people} test (base rate ${b.baseRate.toFixed(3)})`,
      `backtest    AUC ${b.auc.toFixed(4)}, log loss ${b.logLoss.toFixed(4)}, top-decile lift ${b.topDecileLift.toFixed(2)}×`,
      '',
      'calibration by decile of the predicted probability (1 = highest)',
      table(
        b.calibration.map((c) => ({
          decile: c.decile,
          people: c.people,
          predicted: c.meanPredicted.toFixed(3),
          observed: c.observedRate.toFixed(3),
        })),
      ),
      '',
      m.kind === 'gbt'
        ? `feature importance (share of the trees' total split gain; ${m.iterations} trees, up to ${m.options.maxLeaves} leaves, learning rate ${m.options.learningRate})`
        : `coefficients (standardised inputs, L2 λ = ${m.lambda}; intercept ${m.intercept.toFixed(3)})`,
      table(
        importanceOf!(m).map((r) => ({
          input: r.input,
          [m.kind === 'gbt' ? 'gain' : 'weight']: r.weight.toFixed(3),
        })),
      ),
    );
    return lines.join('\n');
  }
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

/** The purchase histories `--events`, `--from`, `--to`, `--holdout-to`, `--unit` and `--each-purchase` describe. */
function purchaseModelOptions(models: readonly string[], flags: FitFlags): PurchaseModelOptions {
  if (!flags.to) {
    throw new SegflowError(
      'USAGE',
      `${models.join(' and ')} ${models.length > 1 ? 'need' : 'needs'} the calibration window's last day`,
      'e.g. --to 1997-09-30',
    );
  }
  const end = new Date(parseDay(flags.to, '--to').getTime() + DAY_MS);
  return {
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
  };
}

/**
 * `segflow models fit bgnbd gammagamma`: both purchase models on one read of the purchase histories, stored together.
 * --json prints an object keyed by model (`{"bgnbd": fit, "gammagamma": fit}`), each fit as `models fit NAME --json`
 * prints it; without, each fit's report in turn.
 */
async function fitPurchaseModelsCommand(models: ModelName[], flags: FitFlags, cmd: Command): Promise<void> {
  const other = models.filter((m) => !isPurchaseModel(m));
  if (other.length > 0) {
    throw new SegflowError(
      'USAGE',
      `${other.join(', ')} cannot be fitted together with other models`,
      `only ${PURCHASE_MODELS.join(' and ')} are fitted together (they share the purchase histories); fit the others one at a time`,
    );
  }
  const purchaseModels = models.filter(isPurchaseModel);
  const options = purchaseModelOptions(purchaseModels, flags);
  const fitting = modelFits();
  warmUpWhileOpening(fitting, purchaseModels);
  const fits = await withWarehouse(
    cmd.optsWithGlobals(),
    async (wh) => (await fitting).fitPurchaseModels(wh, { models: purchaseModels, ...options }),
    // Two rows written, and one query: see the single fit's notes below.
    { checkpointOnClose: false, oneThreadWhenSmall: true },
  );
  const report = flags.json ? '' : await describeFits(fits);
  emit(Boolean(flags.json), Object.fromEntries(fits.map((f) => [f.model, f])), () => report);
}

export function registerModels(program: Command): void {
  const models = program
    .command('models')
    .description('predictive models: BG/NBD (purchases, P(alive)), Gamma-Gamma (order value, CLV), clusters');

  models
    .command('fit')
    .description(
      'fit a model and store it (bgnbd and gammagamma: on purchase histories, both in one run with `fit bgnbd gammagamma`; clusters: on a query)',
    )
    .argument(
      '<name...>',
      `${MODEL_NAMES.join(' | ')}; bgnbd gammagamma together read the purchase histories once (--json: an object keyed by model)`,
    )
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
    .option(
      '--assign-as-of <date>',
      "clusters: store each row's cluster as of this day, for segments (`cluster`, `cluster.id`)",
    )
    .option('--horizon <duration>', 'churn, purchase: the label window after each snapshot', '30d')
    .option('--train-as-of <dates>', 'churn, purchase: training snapshots (days, comma-separated)')
    .option(
      '--test-as-of <date>',
      'churn, purchase: the backtest snapshot (after every training label window)',
    )
    .option('--lambda <n>', 'churn, purchase, propensity: L2 penalty of logistic regression', '1')
    .option(
      '--model <kind>',
      'churn, purchase, propensity: logistic | gbt (gradient-boosted trees) | auto (the better by cross-validated AUC)',
      'auto',
    )
    .option('--file <path>', 'propensity: your own feature table (CSV or Parquet)')
    .option('--label <column>', 'propensity: the 0/1 label column')
    .option(
      '--split-column <column>',
      "propensity: a column of 'train' / 'test' (default: 30% test by id hash)",
    )
    .option('--json', 'print the stored fit as one JSON document')
    .action(async (names: string[], flags: FitFlags, cmd: Command) => {
      const requested = [...new Set(names.map(modelName))];
      if (requested.length > 1) {
        await fitPurchaseModelsCommand(requested, flags, cmd);
        return;
      }
      const model = requested[0]!;
      const fitting = model === 'clusters' || isPurchaseModel(model) ? modelFits() : undefined;
      if (fitting && isPurchaseModel(model)) warmUpWhileOpening(fitting, [model]);
      const fit = await withWarehouse(
        cmd.optsWithGlobals(),
        async (wh) => {
          if (model === 'churn' || model === 'purchase') {
            if (!flags.trainAsOf || !flags.testAsOf) {
              throw new SegflowError(
                'USAGE',
                `${model} needs training snapshots and a test snapshot`,
                'e.g. --train-as-of 2026-03-01,2026-04-01,2026-05-01 --test-as-of 2026-06-01 --horizon 30d',
              );
            }
            const p = await propensityModules();
            const result = await p.fitPropensity(wh, {
              target: model,
              horizon: flags.horizon ?? '30d',
              trainAsOf: flags.trainAsOf.split(',').map((d) => parseDay(d.trim(), '--train-as-of')),
              testAsOf: parseDay(flags.testAsOf, '--test-as-of'),
              config: p.config(),
              model: p.parseModelKind(flags.model),
              ...(flags.lambda ? { lambda: Number(flags.lambda) } : {}),
            });
            return result.fit;
          }
          if (model === 'propensity') {
            if (!flags.file || !flags.label) {
              throw new SegflowError(
                'USAGE',
                'propensity on your own features needs --file and --label',
                'e.g. --file features.parquet --label churned --id-column person_id',
              );
            }
            const p = await propensityModules();
            const result = await p.fitPropensityFromFile(wh, {
              path: fromWorkingDir(flags.file),
              label: flags.label,
              model: p.parseModelKind(flags.model),
              // Without --id-column, person_id when the file has one, else row numbers.
              ...(cmd.getOptionValueSource('idColumn') === 'default' ? {} : { idColumn: flags.idColumn }),
              ...(flags.splitColumn ? { splitColumn: flags.splitColumn } : {}),
              ...(flags.lambda ? { lambda: Number(flags.lambda) } : {}),
            });
            return result.fit;
          }
          if (model === 'clusters') {
            if (!flags.query || flags.column.length === 0) {
              throw new SegflowError(
                'USAGE',
                'clusters need --query and at least one --column',
                "e.g. --query 'SELECT person_id, frequency, spend FROM …' --column frequency:frequent:infrequent",
              );
            }
            return (await fitting!).fitClusterModel(wh, {
              sql: flags.query,
              idColumn: flags.idColumn,
              columns: flags.column.map(parseColumn),
              kRange: parseKRange(flags.k),
              seed: Number(flags.seed),
              ...(flags.assignAsOf ? { assignAsOf: parseDay(flags.assignAsOf, '--assign-as-of') } : {}),
            });
          }
          if (!isPurchaseModel(model)) throw new Error(`unreachable: ${model}`);
          const options = purchaseModelOptions([model], flags);
          return (await fitting!).fitPurchaseModel(wh, { model, ...options });
        },
        // A fit writes one row (clusters with --assign-as-of, more: a large log is still checkpointed). A purchase
        // model's fit is one query over the events: on a small database, DuckDB on one thread.
        { checkpointOnClose: false, oneThreadWhenSmall: isPurchaseModel(model) },
      );
      const report = flags.json ? '' : await describeFits([fit]);
      emit(Boolean(flags.json), fit, () => report);
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
        async (wh) => (await modelFits()).getModelFit(wh, { model, id: flags.id }),
        {
          readOnly: true,
        },
      );
      const report = flags.json ? '' : await describeFits([fit]);
      emit(Boolean(flags.json), fit, () => report);
    });

  models
    .command('score')
    .description(
      'write scores per person: P(alive), expected purchases and CLV (default, to predictions); churn or purchase probability (to person_scores); propensity for a file',
    )
    .argument('[name]', 'bgnbd (default) | churn | purchase | propensity')
    .option('--as-of <date>', 'histories end at the start of this day (UTC); default now')
    .option('--file <path>', 'propensity: the feature table to score')
    .option('--out <path>', 'propensity: where to write id,probability (CSV)')
    .option('--id <fit-id>', 'churn, purchase, propensity: a particular fit instead of the last')
    .option('--horizon <duration>', 'expected purchases over this, e.g. "39 weeks"', '52 weeks')
    .option('--clv-horizon <duration>', 'lifetime value over this, e.g. "12 months" (needs a gammagamma fit)')
    .option('--discount <rate/unit>', 'discount rate per period for CLV, e.g. 0.01/month', '0.01/month')
    .option('--json', 'print the summary as one JSON document')
    .action(
      async (
        name: string | undefined,
        flags: {
          asOf?: string;
          horizon: string;
          clvHorizon?: string;
          discount: string;
          json?: boolean;
          file?: string;
          out?: string;
          id?: string;
        },
        cmd: Command,
      ) => {
        if (name === 'churn' || name === 'purchase') {
          const target = name;
          const p = await propensityModules();
          const s = await withWarehouse(cmd.optsWithGlobals(), (wh) =>
            p.scorePropensity(wh, {
              target,
              asOf: flags.asOf ? parseDay(flags.asOf, '--as-of') : new Date(),
              config: p.config(),
              ...(flags.id ? { fitId: flags.id } : {}),
            }),
          );
          emit(Boolean(flags.json), s, () =>
            [
              `scored ${s.people} people as of ${s.asOf.toISOString()} with fit ${s.fitId}`,
              `segments read it as predicted.${s.score}, e.g. { feature: "predicted.${s.score}", gt: 0.7 }`,
            ].join('\n'),
          );
          return;
        }
        if (name === 'propensity') {
          if (!flags.file || !flags.out) {
            throw new SegflowError(
              'USAGE',
              'propensity scoring needs --file and --out',
              'e.g. --file new.parquet --out scores.csv',
            );
          }
          const { file, out } = flags;
          const p = await propensityModules();
          const s = await withWarehouse(cmd.optsWithGlobals(), (wh) =>
            p.scorePropensityFile(wh, {
              path: fromWorkingDir(file),
              out: fromWorkingDir(out),
              ...(flags.id ? { fitId: flags.id } : {}),
            }),
          );
          emit(Boolean(flags.json), s, () => `wrote ${s.rows} probabilities to ${s.out} (fit ${s.fitId})`);
          return;
        }
        if (name !== undefined && name !== 'bgnbd') {
          throw new SegflowError(
            'USAGE',
            `cannot score '${name}'`,
            'score bgnbd, churn, purchase or propensity',
          );
        }
        const [rate, per] = flags.discount.split('/');
        if (!rate || !per || !Number.isFinite(Number(rate))) {
          throw new SegflowError(
            'USAGE',
            `--discount '${flags.discount}' is not RATE/UNIT`,
            'e.g. --discount 0.01/month',
          );
        }
        const { scorePredictions } = await import('../../model/predict/score.js');
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
