import { z } from 'zod';
import { loadConfig } from '../config/config.js';
import { AuditRowSchema, readAudit } from '../govern/audit.js';
import { privacyStatus } from '../govern/erasure.js';
import {
  DeleteResultSchema,
  deletePerson,
  exportPerson,
  PrivacyExportSchema,
  suppressPerson,
} from '../govern/privacy.js';
import { PurgeResultSchema, purgeExpired, retentionConfig } from '../govern/retention.js';
import { reviewSegments, SegmentReviewSchema } from '../govern/segment-review.js';
import { defineRoute, jsonDates } from './admin-routes.js';

const Identifier = z.object({ id: z.string().min(1).max(1000).describe('any identifier of the person') });
const Matching = z.object({
  allMatching: z
    .boolean()
    .default(false)
    .describe('act on every person the identifier matches (several can share an email); otherwise 409'),
});
const PrivacyRequestSchema = z
  .object({
    id: z.int(),
    kind: z.enum(['delete', 'tombstone']),
    tombstone: z.string(),
    persons: z.int(),
    requestedAt: z.iso.datetime(),
    erasedAt: z.iso.datetime().nullable().describe('when the erasure reached storage; null while pending'),
  })
  .meta({ id: 'PrivacyRequest' });

/** Govern over the admin API: privacy requests, the audit log, retention and the segment review. */
export const GOVERN_ROUTES = [
  defineRoute({
    method: 'GET',
    path: '/api/v1/audit',
    permission: 'admin',
    tag: 'govern',
    summary: 'The audit log, newest first',
    query: z.object({
      since: z.iso.datetime().optional(),
      action: z.string().max(200).optional(),
      limit: z.coerce.number().int().min(1).max(10_000).default(200),
    }),
    response: z.object({ entries: z.array(AuditRowSchema) }),
    handler: async ({ query }, { wh }) =>
      jsonDates({
        entries: await readAudit(wh, {
          ...(query.since ? { since: new Date(query.since) } : {}),
          ...(query.action ? { action: query.action } : {}),
          limit: query.limit,
        }),
      }) as { entries: z.input<typeof AuditRowSchema>[] },
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/privacy/persons/:id/delete',
    permission: 'admin',
    tag: 'govern',
    summary:
      'Delete a person everywhere by userId, anonymousId or an email / phone value; only hashed tombstones stay',
    description:
      'Nobody matching is 404; several people matching is 409 unless allMatching. tombstoneOnly blocks an identifier nobody has yet.',
    params: Identifier,
    body: Matching.extend({
      tombstoneOnly: z
        .boolean()
        .default(false)
        .describe('nobody has this identifier yet: only record its tombstone'),
    }).default({ allMatching: false, tombstoneOnly: false }),
    response: DeleteResultSchema,
    // Between evaluations: it deletes the person's memberships, deliveries and feature rows, which an evaluation writes.
    handler: async ({ params, body }, { wh, key, between }) =>
      between(() => deletePerson(wh, params.id, { actor: `key:${key.id}`, source: 'api' }, body)),
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/privacy/requests',
    permission: 'admin',
    tag: 'govern',
    summary: 'Privacy requests, newest first, with when their erasure reached storage (pending while null)',
    response: z.object({ requests: z.array(PrivacyRequestSchema) }),
    handler: async (_input, { wh }) =>
      jsonDates({ requests: await privacyStatus(wh) }) as {
        requests: z.input<typeof PrivacyRequestSchema>[];
      },
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/privacy/persons/:id/export',
    permission: 'admin',
    tag: 'govern',
    summary: 'Everything held about a person (an access request)',
    params: Identifier,
    body: Matching.default({ allMatching: false }),
    response: PrivacyExportSchema,
    handler: async ({ params, body }, { wh, key }) =>
      exportPerson(wh, params.id, { actor: `key:${key.id}`, source: 'api' }, body),
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/privacy/persons/:id/suppress',
    permission: 'admin',
    tag: 'govern',
    summary: 'Never message this person again',
    params: Identifier,
    body: Matching.extend({ reason: z.string().max(500).optional() }).default({ allMatching: false }),
    response: z.object({ persons: z.int(), identifiers: z.int() }),
    handler: async ({ params, body }, { wh, key }) =>
      suppressPerson(wh, params.id, body.reason ?? null, { actor: `key:${key.id}`, source: 'api' }, body),
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/govern/purge',
    permission: 'admin',
    tag: 'govern',
    summary: 'Delete events older than their retention window',
    body: z.object({ dryRun: z.boolean().default(false), asOf: z.iso.datetime().optional() }),
    response: PurgeResultSchema,
    handler: async ({ body }, { wh }) =>
      jsonDates(
        await purgeExpired(wh, retentionConfig(loadConfig().retention), {
          dryRun: body.dryRun,
          ...(body.asOf ? { asOf: new Date(body.asOf) } : {}),
        }),
      ) as z.input<typeof PurgeResultSchema>,
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/govern/review',
    permission: 'read',
    tag: 'govern',
    summary: 'The segment review: keep, merge or retire each segment, with reasons',
    response: z.object({ segments: z.array(SegmentReviewSchema) }),
    handler: async (_input, { wh }) =>
      jsonDates({ segments: await reviewSegments(wh) }) as {
        segments: z.input<typeof SegmentReviewSchema>[];
      },
  }),
];
