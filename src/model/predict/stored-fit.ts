import { z } from 'zod';
import { Timestamp } from '../../shared/timestamp.js';
import { MODEL_NAMES } from './model-names.js';
import { TIME_UNITS } from './time-unit.js';

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
