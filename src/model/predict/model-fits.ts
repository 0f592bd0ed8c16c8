import type { SqlValue, Warehouse } from '../../engine/warehouse.js';
import { SegflowError } from '../../errors.js';
import type { ClusterOptions } from '../clusters/clusters.js';
import { fitBgNbd } from './bgnbd.js';
import { bgnbdDiagnostics, gammaGammaDiagnostics } from './diagnostics.js';
import { fitGammaGamma } from './gamma-gamma.js';
import { type ModelName, PURCHASE_MODELS, type PurchaseModelName } from './model-names.js';
import type { StoredFit } from './stored-fit.js';
import {
  type CalibrationWindow,
  type PurchaseDefinition,
  type PurchaseSummaries,
  summarizePurchases,
} from './summarize.js';
import type { TimeUnit } from './time-unit.js';

// The names and the stored fit's type, for callers of the fitting functions; the fit's schema (zod) is in
// stored-fit.ts, apart, so that a command that fits a model does not load it.
export {
  isPurchaseModel,
  MODEL_NAMES,
  type ModelName,
  PURCHASE_MODELS,
  type PurchaseModelName,
} from './model-names.js';
export type { StoredFit } from './stored-fit.js';

/** What a purchase model is fitted on. */
export interface PurchaseModelOptions {
  purchases: PurchaseDefinition;
  window: CalibrationWindow;
  timeUnit: TimeUnit;
}

function windowJson(o: PurchaseModelOptions): Record<string, unknown> {
  return {
    purchaseEvents: o.purchases.events,
    sameDayAsOne: o.purchases.sameDayAsOne ?? true,
    start: o.window.start?.toISOString() ?? null,
    end: o.window.end.toISOString(),
    holdoutEnd: o.window.holdoutEnd?.toISOString() ?? null,
    timeUnit: o.timeUnit,
  };
}

/** Store fits in `model_fits`: one statement, so several fits of one run are stored together or not at all. */
export async function storeModelFits(wh: Warehouse, fits: readonly StoredFit[]): Promise<void> {
  if (fits.length === 0) return;
  const row = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
  await wh.run(
    `INSERT INTO model_fits (id, model, fitted_at, time_unit, options, params, standard_errors, log_likelihood,
       people, diagnostics, seconds) VALUES ${fits.map(() => row).join(', ')}`,
    fits.flatMap((fit) => [
      fit.id,
      fit.model,
      fit.fittedAt,
      fit.timeUnit,
      JSON.stringify(fit.options),
      JSON.stringify(fit.params),
      fit.standardErrors ? JSON.stringify(fit.standardErrors) : null,
      fit.logLikelihood,
      fit.people,
      JSON.stringify(fit.diagnostics),
      fit.seconds,
    ]),
  );
}

export async function storeModelFit(wh: Warehouse, fit: StoredFit): Promise<StoredFit> {
  await storeModelFits(wh, [fit]);
  return fit;
}

/** One model's fit and checks on summaries already read; `seconds` is filled in by the caller. */
function fitOnSummaries(
  model: PurchaseModelName,
  s: PurchaseSummaries,
  base: Omit<
    StoredFit,
    'timeUnit' | 'params' | 'standardErrors' | 'logLikelihood' | 'people' | 'diagnostics'
  >,
): StoredFit {
  switch (model) {
    case 'bgnbd': {
      const fit = fitBgNbd(s.rfm);
      const diagnostics = bgnbdDiagnostics({
        model: fit,
        data: s.rfm,
        holdoutPurchases: s.holdoutPurchases,
        holdoutLength: s.holdoutLength,
      });
      return {
        ...base,
        timeUnit: fit.timeUnit,
        params: { ...fit.params },
        standardErrors: fit.standardErrors ? { ...fit.standardErrors } : null,
        logLikelihood: fit.logLikelihood,
        people: fit.people,
        diagnostics: {
          ...diagnostics,
          converged: fit.converged,
          iterations: fit.iterations,
          groups: fit.groups,
        },
      };
    }
    case 'gammagamma': {
      const fit = fitGammaGamma(s.monetary);
      return {
        ...base,
        timeUnit: null,
        params: { ...fit.params },
        standardErrors: fit.standardErrors ? { ...fit.standardErrors } : null,
        logLikelihood: fit.logLikelihood,
        people: fit.people,
        diagnostics: {
          ...gammaGammaDiagnostics(fit.params, s.monetary),
          repeatCustomersWithoutValue: s.repeatCustomersWithoutValue,
          converged: fit.converged,
          iterations: fit.iterations,
          groups: fit.groups,
        },
      };
    }
    default: {
      const never: never = model;
      throw new Error(`unknown model ${String(never)}`);
    }
  }
}

/**
 * Made-up purchase summaries for `warmUpPurchaseModels`, small but drawn as BG/NBD says real ones arise, so that the
 * fits take the paths real data makes them take: 300 people who buy at a rate λ ~ Gamma(1, 1/4) per week and drop out
 * after a purchase with probability p ~ Beta(1, 3), watched for 6 to 36 weeks (whole days); the people of a history
 * share a mean order value drawn as Gamma-Gamma says (p = 6, q = 4). A fixed xorshift sequence: the same every time.
 */
function practiceSummaries(): PurchaseSummaries {
  let state = 0x9e3779b9;
  const uniform = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) + 0.5) / 4294967296;
  };
  // Gamma(k) for a whole k: a sum of k exponential draws.
  const gammaDraw = (k: number) => {
    let product = 1;
    for (let j = 0; j < k; j++) product *= uniform();
    return -Math.log(product);
  };
  const people = 300;
  const groups = new Map<number, number>(); // x·2²⁰ + t_x·2¹⁰ + T, in days → people
  for (let i = 0; i < people; i++) {
    const T = 42 * (1 + Math.floor(uniform() * 6));
    const rate = -Math.log(uniform()) / 28; // per day
    const dropout = 1 - Math.cbrt(uniform());
    let t = 0;
    let x = 0;
    let tx = 0;
    for (;;) {
      t += -Math.log(uniform()) / rate;
      if (t > T) break;
      x++;
      tx = Math.floor(t);
      if (uniform() < dropout) break;
    }
    const key = x * 1048576 + tx * 1024 + T;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  const n = groups.size;
  const rfm = {
    timeUnit: 'weeks' as const,
    x: new Float64Array(n),
    tx: new Float64Array(n),
    T: new Float64Array(n),
    weight: new Float64Array(n),
  };
  const monetary = { x: new Float64Array(n), m: new Float64Array(n), weight: new Float64Array(n) };
  let i = 0;
  let k = 0;
  for (const [key, w] of groups) {
    const x = Math.floor(key / 1048576);
    rfm.x[i] = x;
    rfm.tx[i] = (Math.floor(key / 1024) % 1024) / 7;
    rfm.T[i] = (key % 1024) / 7;
    rfm.weight[i] = w;
    i++;
    if (x === 0) continue;
    monetary.x[k] = x;
    monetary.m[k] = gammaDraw(6 * x) / gammaDraw(4) / x;
    monetary.weight[k] = w;
    k++;
  }
  return {
    rfm,
    holdoutPurchases: new Float64Array(n),
    holdoutLength: 0,
    monetary: { x: monetary.x.slice(0, k), m: monetary.m.slice(0, k), weight: monetary.weight.slice(0, k) },
    people,
    repeatCustomers: k,
    repeatCustomersWithoutValue: 0,
  };
}

/**
 * Fit the models on made-up summaries and throw the fits away, for a process about to fit them once: run while it
 * waits for the engine (the CLI runs it while DuckDB opens the file, on another thread). A process's first fit
 * otherwise runs cold — interpreted, each arithmetic result a heap allocation — until V8's optimizing compiler, in the
 * background, has compiled its loops (several milliseconds each); done here, that waiting overlaps the engine's, and
 * the real fit runs compiled. Nothing but compiled code carries over: the real fits are the same to the last bit.
 * One model at a time, each in a callback of its own, so that the engine's callbacks are not held up for long.
 */
export async function warmUpPurchaseModels(models: readonly PurchaseModelName[]): Promise<void> {
  const s = practiceSummaries();
  for (const model of models) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    fitOnSummaries(model, s, { id: '', model, fittedAt: new Date(0), options: {}, seconds: 0 });
  }
}

/**
 * Fit several purchase models (BG/NBD and Gamma-Gamma) on one read of the purchase summaries, check each fit
 * (calibration and, with a holdout, holdout diagnostics) and store them together (all or none) in `model_fits`.
 * Returns the fits in the order asked (a model named twice is fitted once). Each fit is the one `fitPurchaseModel`
 * stores for that model alone; its `seconds` are the shared read plus its own fitting.
 *
 * @example
 * const [bg, gg] = await fitPurchaseModels(wh, {
 *   models: ['bgnbd', 'gammagamma'],
 *   purchases: { events: ['Order Completed'] },
 *   window: { end: new Date('1997-10-01T00:00:00Z') },
 *   timeUnit: 'weeks',
 * });
 */
export async function fitPurchaseModels(
  wh: Warehouse,
  args: { models: readonly PurchaseModelName[] } & PurchaseModelOptions,
): Promise<StoredFit[]> {
  const models = [...new Set(args.models)];
  if (models.length === 0) {
    throw new SegflowError('USAGE', 'no model to fit', `name one or more of ${PURCHASE_MODELS.join(', ')}`);
  }
  const started = performance.now();
  // node:crypto (for the fits' ids) takes a few milliseconds to load: it loads while the engine reads the summaries.
  const crypto = import('node:crypto');
  // Only the fitted models' summaries: another model's rows would be read from the engine for nothing.
  const only = models.length > 1 ? undefined : models[0] === 'bgnbd' ? 'rfm' : 'monetary';
  const s = await summarizePurchases(wh, { ...args, ...(only ? { only } : {}) });
  const readSeconds = (performance.now() - started) / 1000;
  const { randomUUID } = await crypto;
  const fits = models.map((model) => {
    const t = performance.now();
    const fit = fitOnSummaries(model, s, {
      id: `${model}-${randomUUID()}`,
      model,
      fittedAt: new Date(),
      options: windowJson(args),
      seconds: 0,
    });
    return { ...fit, seconds: readSeconds + (performance.now() - t) / 1000 };
  });
  await storeModelFits(wh, fits);
  return fits;
}

/**
 * Fit BG/NBD or Gamma-Gamma on purchase summaries computed in SQL, check the fit (calibration and, with a holdout,
 * holdout diagnostics), and store it in `model_fits`. To fit both, `fitPurchaseModels` reads the summaries once.
 */
export async function fitPurchaseModel(
  wh: Warehouse,
  args: { model: PurchaseModelName } & PurchaseModelOptions,
): Promise<StoredFit> {
  const [fit] = await fitPurchaseModels(wh, { ...args, models: [args.model] });
  return fit!;
}

/** Cluster the rows of a query and store the clusters (centroids, labels, sizes) in `model_fits`. */
export async function fitClusterModel(
  wh: Warehouse,
  args: { sql: string; params?: readonly SqlValue[]; idColumn: string; assignAsOf?: Date } & ClusterOptions,
): Promise<StoredFit> {
  const started = performance.now();
  // Loaded here: a purchase model's fit has no use for k-means.
  const { clusterQuery } = await import('../clusters/clusters.js');
  const r = await clusterQuery(wh, args);
  const id = `clusters-${(await import('node:crypto')).randomUUID()}`;
  if (args.assignAsOf) {
    // Each row's cluster becomes a score segments read as `cluster` (its label) and `cluster.id`.
    const asOf = args.assignAsOf;
    const byId = new Map(r.clusters.map((c) => [c.id, c]));
    await wh.transaction(async (tx) => {
      await tx.run(`DELETE FROM person_scores WHERE as_of = ? AND score = 'cluster'`, [asOf]);
      await tx.append(
        'person_scores',
        ['person_id', 'as_of', 'score', 'value', 'label', 'fit_id'],
        r.ids.map((person, i) => {
          const c = byId.get(r.assignment[i]!)!;
          return [person, asOf, 'cluster', c.id, c.label, id];
        }),
      );
    });
  }
  return storeModelFit(wh, {
    id,
    model: 'clusters',
    fittedAt: new Date(),
    timeUnit: null,
    options: {
      sql: args.sql,
      idColumn: args.idColumn,
      columns: args.columns,
      kRange: args.kRange ?? { min: 2, max: 8 },
      seed: args.seed ?? 1,
      assignedAsOf: args.assignAsOf?.toISOString() ?? null,
    },
    params: { k: r.k, clusters: r.clusters },
    standardErrors: null,
    logLikelihood: null,
    people: r.assignment.length,
    diagnostics: { silhouetteByK: r.silhouetteByK },
    seconds: (performance.now() - started) / 1000,
  });
}

interface FitRow {
  id: string;
  model: string;
  fitted_at: Date;
  time_unit: string | null;
  options: string;
  params: string;
  standard_errors: string | null;
  log_likelihood: number | null;
  people: number | bigint;
  diagnostics: string;
  seconds: number;
}

/** The most recent fit of a model, or a fit by id. */
export async function getModelFit(
  wh: Warehouse,
  args: { model: ModelName; id?: string },
): Promise<StoredFit> {
  const rows = await wh.query<FitRow & Record<string, unknown>>(
    `SELECT * FROM model_fits WHERE model = ? ${args.id ? 'AND id = ?' : ''} ORDER BY fitted_at DESC, id LIMIT 1`,
    args.id ? [args.model, args.id] : [args.model],
  );
  const r = rows[0];
  if (!r) {
    throw new SegflowError(
      'MODEL_NOT_FITTED',
      args.id
        ? `no ${args.model} fit with id ${args.id}`
        : `${args.model} has not been fitted in this database`,
      `run \`segflow models fit ${args.model}\` first`,
    );
  }
  return {
    id: r.id,
    model: r.model as ModelName,
    fittedAt: r.fitted_at,
    timeUnit: r.time_unit as TimeUnit | null,
    options: JSON.parse(r.options),
    params: JSON.parse(r.params),
    standardErrors: r.standard_errors ? JSON.parse(r.standard_errors) : null,
    logLikelihood: r.log_likelihood,
    people: Number(r.people),
    diagnostics: JSON.parse(r.diagnostics),
    seconds: r.seconds,
  };
}
