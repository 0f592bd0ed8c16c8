import { z } from 'zod';
import { loadConfig } from '../config/config.js';
import { SegflowError } from '../errors.js';
import { modelConfig } from '../model/model-config.js';
import { MODEL_KINDS } from '../model/propensity/classifier.js';
import { fitPropensityFromFile } from '../model/propensity/file-propensity.js';
import { fitPropensity, type PropensityFit } from '../model/propensity/propensity.js';
import { defineRoute } from './admin-routes.js';

const FitBody = z
  .object({
    model: z.enum(MODEL_KINDS).default('auto').describe('logistic, gbt (gradient-boosted trees) or auto'),
    lambda: z.number().positive().optional().describe('L2 penalty of logistic regression'),
    horizon: z
      .string()
      .max(50)
      .default('30d')
      .describe('churn, purchase: the label window after each snapshot'),
    trainAsOf: z.array(z.iso.datetime()).max(100).optional().describe('churn, purchase: training snapshots'),
    testAsOf: z.iso.datetime().optional().describe('churn, purchase: the backtest snapshot'),
    file: z.string().max(4096).optional().describe("propensity: a CSV or Parquet file on the server's disk"),
    label: z.string().max(200).optional().describe('propensity: the label column'),
    idColumn: z.string().max(200).optional(),
    splitColumn: z.string().max(200).optional(),
  })
  .meta({ id: 'PropensityFitRequest' });

const FitSummary = z
  .object({
    fitId: z.string(),
    model: z.enum(['churn', 'purchase', 'propensity']),
    requested: z.enum(MODEL_KINDS),
    chosen: z.enum(['logistic', 'gbt']),
    crossValidatedAuc: z.object({ logistic: z.number(), gbt: z.number() }).nullable(),
    trainRows: z.number(),
    backtest: z.object({
      people: z.number(),
      positives: z.number(),
      auc: z.number(),
      logLoss: z.number(),
      topDecileLift: z.number(),
    }),
  })
  .meta({
    id: 'PropensityFitSummary',
    description: 'the stored fit: GET /api/v1/models/:name has all of it',
  });

function summary(name: 'churn' | 'purchase' | 'propensity', f: PropensityFit): z.input<typeof FitSummary> {
  const choice = f.fit.diagnostics.choice as {
    requested: 'auto';
    chosen: 'logistic' | 'gbt';
    crossValidatedAuc: null;
  };
  const b = f.backtest;
  return {
    fitId: f.fit.id,
    model: name,
    requested: choice.requested,
    chosen: choice.chosen,
    crossValidatedAuc: choice.crossValidatedAuc,
    trainRows: f.trainRows,
    backtest: {
      people: b.people,
      positives: b.positives,
      auc: b.auc,
      logLoss: b.logLoss,
      topDecileLift: b.topDecileLift,
    },
  };
}

/** Fitting propensity models over the admin API: the same functions as `segflow models fit churn|purchase|propensity`. */
export const PROPENSITY_ROUTES = [
  defineRoute({
    method: 'POST',
    path: '/api/v1/models/:name/fit',
    permission: 'admin',
    tag: 'model',
    summary:
      'Fit a churn, purchase (snapshots of features) or propensity (a file) model: logistic, trees or auto',
    params: z.object({ name: z.enum(['churn', 'purchase', 'propensity']) }),
    body: FitBody,
    response: FitSummary,
    handler: async ({ params, body }, { wh }) => {
      const common = { model: body.model, ...(body.lambda ? { lambda: body.lambda } : {}) };
      if (params.name === 'propensity') {
        if (!body.file || !body.label) {
          throw new SegflowError(
            'REQUEST_INVALID',
            'propensity needs file and label',
            'e.g. {"file": "features.csv", "label": "churned"}',
          );
        }
        const f = await fitPropensityFromFile(wh, {
          ...common,
          path: body.file,
          label: body.label,
          ...(body.idColumn ? { idColumn: body.idColumn } : {}),
          ...(body.splitColumn ? { splitColumn: body.splitColumn } : {}),
        });
        return summary('propensity', f);
      }
      if (!body.trainAsOf?.length || !body.testAsOf) {
        throw new SegflowError(
          'REQUEST_INVALID',
          `${params.name} needs trainAsOf and testAsOf`,
          'e.g. {"trainAsOf": ["2026-03-01T00:00:00Z"], "testAsOf": "2026-05-01T00:00:00Z"}',
        );
      }
      const f = await fitPropensity(wh, {
        ...common,
        target: params.name,
        horizon: body.horizon,
        trainAsOf: body.trainAsOf.map((t) => new Date(t)),
        testAsOf: new Date(body.testAsOf),
        config: modelConfig(loadConfig().model),
      });
      return summary(params.name, f);
    },
  }),
];
