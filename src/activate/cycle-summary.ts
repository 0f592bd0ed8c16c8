import { z } from 'zod';
import { Timestamp } from '../shared/timestamp.js';
import { ActivationSummarySchema } from './activate-run.js';

/** How one part of a refresh ran: 'incremental' recomputed only `recomputed` people and carried the rest. */
const RefreshRun = z.object({
  mode: z.enum(['full', 'incremental']),
  recomputed: z.number(),
  seconds: z.number(),
});

/** What one turn of the loop (features → segments → playbook) did: the server cycle and `POST /api/v1/refresh`. */
export const CycleSummarySchema = z
  .object({
    asOf: Timestamp,
    persons: z.number(),
    features: RefreshRun.describe('how the features were refreshed'),
    segments: z.array(
      z.object({ name: z.string(), size: z.number(), entered: z.number(), exited: z.number() }),
    ),
    segmentRefresh: RefreshRun.nullable().describe(
      'how the segments were refreshed (null: no segments folder)',
    ),
    activation: ActivationSummarySchema.nullable(),
    seconds: z.number(),
  })
  .meta({ id: 'CycleSummary' });
export type CycleSummary = z.output<typeof CycleSummarySchema>;
