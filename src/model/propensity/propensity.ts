import { randomUUID } from 'node:crypto';
import { durationMs } from '../../config/duration.js';
import type { Warehouse } from '../../engine/warehouse.js';
import { SegflowError } from '../../errors.js';
import type { ModelConfig } from '../model-config.js';
import { getModelFit, type StoredFit, storeModelFit } from '../predict/model-fits.js';
import { refreshFeatures } from '../refresh-features.js';
import {
  type Classifier,
  type ClassifierOptions,
  fitClassifier,
  type ModelChoice,
  predictClassifier,
} from './classifier.js';
import { type Backtest, backtest } from './metrics.js';
import { concatFrames, type Frame, type PropensityTarget, snapshotFrame } from './training-frame.js';

export interface PropensityFitOptions extends Omit<ClassifierOptions, 'folds'> {
  target: PropensityTarget;
  /** The label window after each snapshot, e.g. '30d'. */
  horizon: string;
  /** Snapshots to train on; each one's label window must end by `testAsOf` (a time-based split). */
  trainAsOf: readonly Date[];
  /** The snapshot the backtest scores: trained on the past, judged on what happened after it. */
  testAsOf: Date;
  config: ModelConfig;
  /** Refresh features at a snapshot that has none (default true). */
  refreshMissing?: boolean;
}

export interface PropensityFit {
  fit: StoredFit;
  model: Classifier;
  backtest: Backtest;
  trainRows: number;
}

/** The score each target writes to `person_scores`, and reads in segments as `predicted.<score>`. */
export const PROPENSITY_SCORE: Record<PropensityTarget, string> = {
  churn: 'churn_probability',
  purchase: 'purchase_probability',
};

function invalid(message: string, fix: string): SegflowError {
  return new SegflowError('MODEL_DATA_INVALID', message, fix);
}

async function ensureFeatures(wh: Warehouse, cfg: ModelConfig, asOf: Date, refresh: boolean): Promise<void> {
  const [row] = await wh.query<{ n: number }>('SELECT count(*) AS n FROM features WHERE as_of = ?', [asOf]);
  if (Number(row?.n)) return;
  if (!refresh) {
    throw invalid(
      `no features as of ${asOf.toISOString()}`,
      `run \`segflow refresh --as-of ${asOf.toISOString()}\` first`,
    );
  }
  // From scratch: training snapshots must not depend on which refreshes ran before (an incremental refresh carries
  // decayed scores over, equal only up to floating-point rounding).
  await refreshFeatures(wh, cfg, { asOf, full: true });
}

/**
 * Train a churn or purchase propensity model on past snapshots and backtest it on a later one. Time-based split, no
 * leakage: features at T read only events up to T; labels read only (T, T + horizon]; every training label window
 * ends by the test snapshot, and the test label window must be complete in the data.
 */
export async function fitPropensity(wh: Warehouse, o: PropensityFitOptions): Promise<PropensityFit> {
  const started = performance.now();
  const n = durationMs(o.horizon);
  if (o.trainAsOf.length === 0) {
    throw invalid('no training snapshots', 'give at least one --train-as-of before the test snapshot');
  }
  for (const t of o.trainAsOf) {
    if (t.getTime() + n > o.testAsOf.getTime()) {
      throw invalid(
        `the label window of the training snapshot ${t.toISOString()} (${o.horizon}) ends after the test snapshot ${o.testAsOf.toISOString()}: the model would learn from the test period`,
        `use training snapshots at or before ${new Date(o.testAsOf.getTime() - n).toISOString()}`,
      );
    }
  }
  const [last] = await wh.query<{ t: Date | null }>('SELECT max(ts) AS t FROM events');
  if (!last?.t || last.t.getTime() < o.testAsOf.getTime() + n - 86_400_000) {
    throw invalid(
      `the test snapshot's label window (${o.testAsOf.toISOString()} + ${o.horizon}) runs past the last event (${last?.t?.toISOString() ?? 'none'})`,
      'move --test-as-of back so that its whole label window is in the data',
    );
  }
  const refresh = o.refreshMissing ?? true;
  const frames: Frame[] = [];
  for (const t of [...o.trainAsOf].sort((a, b) => a.getTime() - b.getTime())) {
    await ensureFeatures(wh, o.config, t, refresh);
    frames.push(await snapshotFrame(wh, { ...o, asOf: t, withLabels: true }));
  }
  const train = concatFrames(frames);
  const { model, choice } = fitClassifier(train, o);
  await ensureFeatures(wh, o.config, o.testAsOf, refresh);
  const test = await snapshotFrame(wh, { ...o, asOf: o.testAsOf, withLabels: true });
  if (test.labels.length === 0) {
    throw new SegflowError('MODEL_NO_DATA', 'nobody is in the test snapshot', 'choose a later --test-as-of');
  }
  const result = backtest(predictClassifier(model, test.values), test.labels);
  return storePropensityFit(wh, {
    model: o.target,
    options: {
      target: o.target,
      horizon: o.horizon,
      trainAsOf: o.trainAsOf.map((t) => t.toISOString()),
      testAsOf: o.testAsOf.toISOString(),
      model: choice.requested,
    },
    fitted: model,
    backtest: result,
    trainRows: train.labels.length,
    started,
    diagnostics: { choice },
  });
}

/** Store a fitted propensity model with its backtest in `model_fits`. */
export async function storePropensityFit(
  wh: Warehouse,
  f: {
    model: 'churn' | 'purchase' | 'propensity';
    options: Record<string, unknown>;
    fitted: Classifier;
    backtest: Backtest;
    trainRows: number;
    started: number;
    /** What else the report shows: the model choice, the input encoding. */
    diagnostics?: { choice: ModelChoice } & Record<string, unknown>;
  },
): Promise<PropensityFit> {
  const fit = await storeModelFit(wh, {
    id: `${f.model}-${randomUUID()}`,
    model: f.model,
    fittedAt: new Date(),
    timeUnit: null,
    options: { ...f.options, ...(f.fitted.kind === 'gbt' ? {} : { lambda: f.fitted.lambda }) },
    params: { ...f.fitted },
    standardErrors: null,
    logLikelihood: null,
    people: f.trainRows,
    diagnostics: { backtest: f.backtest, ...f.diagnostics },
    seconds: (performance.now() - f.started) / 1000,
  });
  return { fit, model: f.fitted, backtest: f.backtest, trainRows: f.trainRows };
}

/**
 * Score everyone in the target's population as of T with the latest (or a given) fit and write the probabilities
 * to `person_scores` (replacing an earlier scoring of the same score at the same T).
 */
export async function scorePropensity(
  wh: Warehouse,
  o: { target: PropensityTarget; asOf: Date; config: ModelConfig; fitId?: string; refreshMissing?: boolean },
): Promise<{ fitId: string; score: string; people: number; asOf: Date }> {
  const fit = await getModelFit(wh, { model: o.target, id: o.fitId });
  const model = fit.params as unknown as Classifier;
  const horizon = String(fit.options.horizon);
  await ensureFeatures(wh, o.config, o.asOf, o.refreshMissing ?? true);
  const frame = await snapshotFrame(wh, {
    target: o.target,
    horizon,
    asOf: o.asOf,
    withLabels: false,
    config: o.config,
  });
  const p = predictClassifier(model, frame.values);
  const score = PROPENSITY_SCORE[o.target];
  await wh.transaction(async (tx) => {
    await tx.run('DELETE FROM person_scores WHERE as_of = ? AND score = ?', [o.asOf, score]);
    await tx.append(
      'person_scores',
      ['person_id', 'as_of', 'score', 'value', 'label', 'fit_id'],
      frame.personIds.map((id, i) => [id, o.asOf, score, p[i]!, null, fit.id]),
    );
  });
  return { fitId: fit.id, score, people: frame.personIds.length, asOf: o.asOf };
}
