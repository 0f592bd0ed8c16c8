import { z } from 'zod';
import { loadConfig } from '../config/config.js';
import { SegflowError } from '../errors.js';
import { modelConfig } from '../model/model-config.js';
import { PersonScoresSchema, personScores } from '../model/person-scores.js';
import { getModelFit, MODEL_NAMES } from '../model/predict/model-fits.js';
import { StoredFitSchema } from '../model/predict/stored-fit.js';
import { scorePropensity } from '../model/propensity/propensity.js';
import { defineRoute, jsonDates } from './admin-routes.js';

/** Predictive models over the admin API: the same functions as `segflow models report|score`. */
export const MODEL_ROUTES = [
  defineRoute({
    method: 'GET',
    path: '/api/v1/models/:name',
    permission: 'read',
    tag: 'model',
    summary: 'The last fit of a model (or one fit by id), with its diagnostics and backtest',
    params: z.object({ name: z.enum(MODEL_NAMES) }),
    query: z.object({ id: z.string().max(200).optional() }),
    response: StoredFitSchema,
    handler: async ({ params, query }, { wh }) =>
      jsonDates(await getModelFit(wh, { model: params.name, id: query.id })) as z.input<
        typeof StoredFitSchema
      >,
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/models/:name/score',
    permission: 'admin',
    tag: 'model',
    summary: 'Score everyone with the churn or purchase model as of a time (writes person_scores)',
    params: z.object({ name: z.enum(['churn', 'purchase']) }),
    body: z.object({ asOf: z.iso.datetime().optional(), fitId: z.string().max(200).optional() }),
    response: z.object({ fitId: z.string(), score: z.string(), people: z.number(), asOf: z.string() }),
    handler: async ({ params, body }, { wh }) => {
      const s = await scorePropensity(wh, {
        target: params.name,
        asOf: body.asOf ? new Date(body.asOf) : new Date(),
        config: modelConfig(loadConfig().model),
        ...(body.fitId ? { fitId: body.fitId } : {}),
      });
      return { ...s, asOf: s.asOf.toISOString() };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/persons/:id/scores',
    permission: 'read',
    tag: 'model',
    summary: "A person's model scores: P(alive), CLV, churn and purchase probability, cluster",
    params: z.object({ id: z.string().min(1).max(1000).describe('any identifier of the person') }),
    query: z.object({ asOf: z.iso.datetime().optional() }),
    response: PersonScoresSchema,
    handler: async ({ params, query }, { wh }) => {
      const s = await personScores(wh, params.id, { asOf: query.asOf ? new Date(query.asOf) : undefined });
      if (!s) throw new SegflowError('NOT_FOUND', `no person '${params.id}'`, 'check the identifier');
      return jsonDates(s) as z.input<typeof PersonScoresSchema>;
    },
  }),
];
