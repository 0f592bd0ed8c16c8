import { z } from 'zod';
import { ActivationSummarySchema } from '../activate/activate-run.js';
import { Timestamp } from '../shared/timestamp.js';
import type { RefreshSummary } from './refresh-pipeline.js';

/** What one run of the refresh pipeline did (`segflow refresh --json`, the server cycle, `POST /api/v1/refresh`). */
export const RefreshSummarySchema = z
  .object({
    asOf: Timestamp,
    persons: z.number().describe('people with a feature row as of T'),
    squashed: z
      .object({ overrides: z.number(), events: z.number() })
      .describe('identity merges folded into the events before reading them'),
    features: z.object({
      asOf: Timestamp,
      persons: z.number(),
      seconds: z.number(),
      mode: z.enum(['full', 'incremental']),
      recomputed: z
        .number()
        .describe("'incremental': only these people were computed, the others carried over"),
      since: Timestamp.optional().describe('the earlier refresh an incremental one started from'),
    }),
    segments: z
      .array(z.object({ name: z.string(), size: z.number(), entered: z.number(), exited: z.number() }))
      .describe("each segment's size and movement (empty without segments)"),
    segmentRefresh: z
      .object({
        refreshId: z.number(),
        asOf: Timestamp,
        segments: z.array(
          z.object({
            name: z.string(),
            version: z.number(),
            size: z.number(),
            entered: z.number(),
            exited: z.number(),
          }),
        ),
        mode: z.enum(['full', 'incremental']),
        recomputed: z.number(),
        seconds: z.number(),
      })
      .nullable()
      .describe('how the segments were refreshed; null without segments'),
    activation: ActivationSummarySchema.nullable(),
    seconds: z.number(),
  })
  .meta({ id: 'RefreshSummary' });

/** The pipeline's RefreshSummary and this schema describe the same object: tsc checks both directions here. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
export type RefreshSummaryMatchesSchema = Assert<Same<RefreshSummary, z.output<typeof RefreshSummarySchema>>>;
