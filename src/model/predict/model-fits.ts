import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { SqlValue, Warehouse } from '../../engine/warehouse.js';
import { SegflowError } from '../../errors.js';
import { Timestamp } from '../../shared/timestamp.js';
import { type ClusterOptions, clusterQuery } from '../clusters/clusters.js';
import { fitBgNbd } from './bgnbd.js';
import { bgnbdDiagnostics, gammaGammaDiagnostics } from './diagnostics.js';
import { fitGammaGamma } from './gamma-gamma.js';
import { type CalibrationWindow, type PurchaseDefinition, summarizePurchases } from './summarize.js';
import { TIME_UNITS, type TimeUnit } from './time-unit.js';

/** The models `segflow models fit NAME` knows. */
export const MODEL_NAMES = ['bgnbd', 'gammagamma', 'clusters', 'churn', 'purchase', 'propensity'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** What a purchase model is fitted on. */
export interface PurchaseModelOptions {
  purchases: PurchaseDefinition;
  window: CalibrationWindow;
  timeUnit: TimeUnit;
}

/** A fit as stored in `model_fits`. Dates in `options` are ISO-8601 text. */
export const StoredFitSchema = z
  .object({
    id: z.string(),
    model: z.enum(MODEL_NAMES),
    fittedAt: Timestamp,
    timeUnit: z
      .enum(TIME_UNITS)
      .nullable()
      .describe(
        "the unit of every time parameter and input (BG/NBD's α, t_x, T); null for models without time",
      ),
    options: z.record(z.string(), z.unknown()).describe('what the model was fitted on (dates as ISO text)'),
    params: z.record(z.string(), z.unknown()).describe("the fitted parameters, by the model's own names"),
    standardErrors: z.record(z.string(), z.number()).nullable(),
    logLikelihood: z.number().nullable(),
    people: z.number(),
    diagnostics: z
      .record(z.string(), z.unknown())
      .describe('fit checks and the backtest; see docs/predictive-models.md'),
    seconds: z.number(),
  })
  .meta({ id: 'ModelFit' });
export type StoredFit = z.output<typeof StoredFitSchema>;

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

export async function storeModelFit(wh: Warehouse, fit: StoredFit): Promise<StoredFit> {
  await wh.run(
    `INSERT INTO model_fits (id, model, fitted_at, time_unit, options, params, standard_errors, log_likelihood,
       people, diagnostics, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
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
    ],
  );
  return fit;
}

/**
 * Fit BG/NBD or Gamma-Gamma on purchase summaries computed in SQL, check the fit (calibration and, with a holdout,
 * holdout diagnostics), and store it in `model_fits`.
 */
export async function fitPurchaseModel(
  wh: Warehouse,
  args: { model: 'bgnbd' | 'gammagamma' } & PurchaseModelOptions,
): Promise<StoredFit> {
  const started = performance.now();
  // Only the fitted model's summaries: the other's rows would be read from the engine for nothing.
  const s = await summarizePurchases(wh, { ...args, only: args.model === 'bgnbd' ? 'rfm' : 'monetary' });
  const base = {
    id: `${args.model}-${randomUUID()}`,
    model: args.model,
    fittedAt: new Date(),
    options: windowJson(args),
  };
  switch (args.model) {
    case 'bgnbd': {
      const fit = fitBgNbd(s.rfm);
      const diagnostics = bgnbdDiagnostics({
        model: fit,
        data: s.rfm,
        holdoutPurchases: s.holdoutPurchases,
        holdoutLength: s.holdoutLength,
      });
      return storeModelFit(wh, {
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
        seconds: (performance.now() - started) / 1000,
      });
    }
    case 'gammagamma': {
      const fit = fitGammaGamma(s.monetary);
      return storeModelFit(wh, {
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
        seconds: (performance.now() - started) / 1000,
      });
    }
    default: {
      const never: never = args.model;
      throw new Error(`unknown model ${String(never)}`);
    }
  }
}

/** Cluster the rows of a query and store the clusters (centroids, labels, sizes) in `model_fits`. */
export async function fitClusterModel(
  wh: Warehouse,
  args: { sql: string; params?: readonly SqlValue[]; idColumn: string; assignAsOf?: Date } & ClusterOptions,
): Promise<StoredFit> {
  const started = performance.now();
  const r = await clusterQuery(wh, args);
  const id = `clusters-${randomUUID()}`;
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
