import { existsSync } from 'node:fs';
import { z } from 'zod';
import { cachedPlaybook, playbookPath } from '../activate/playbook-file.js';
import { loadConfig } from '../config/config.js';
import { SegflowError } from '../errors.js';
import { AuditRowSchema, recordAudit, segmentChangeLog } from '../govern/audit.js';
import { retireSegment, reviewSegments } from '../govern/segment-review.js';
import { dailyActivity, overviewTotals, rejectionReasons } from '../instrument/activity.js';
import { findPersons } from '../instrument/person-search.js';
import { rfmCellPeople } from '../model/rfm-cell.js';
import { DecisionSchema, decide } from '../personalize/decide.js';
import { DEFAULT_SEGMENTS_DIR } from '../segment/load-definitions.js';
import { recentRefreshes, segmentHistory } from '../segment/refresh-history.js';
import { checkSegmentDraft, estimateSegmentDraft, saveSegmentDraft } from '../segment/segment-draft.js';
import { listSegments } from '../segment/segment-list.js';
import { defineRoute, jsonDates } from './admin-routes.js';

/**
 * The admin API routes the dashboard's pages read beyond the ones every client has: the overview, the segment list
 * and history, the segment builder (check, size estimate, save), people search, an RFM cell's people, the decision
 * matrix and applying the segment review. Each is a library function; the routes only wire them.
 */
const isoDate = z.iso.datetime();

const OverviewSchema = z
  .object({
    events: z.int(),
    persons: z.int(),
    identifiedPersons: z.int(),
    revenue: z.number(),
    purchasers: z.int(),
    firstEvent: isoDate.nullable(),
    lastEvent: isoDate.nullable(),
    rejected: z.int(),
    daily: z.array(z.object({ day: z.string(), events: z.int(), people: z.int(), revenue: z.number() })),
    rejections: z.array(z.object({ reason: z.string(), events: z.int() })),
    refreshes: z.array(
      z.object({
        refreshId: z.int(),
        asOf: isoDate,
        segments: z.int(),
        entered: z.int(),
        exited: z.int(),
      }),
    ),
  })
  .meta({ id: 'Overview' });

const SegmentListingSchema = z
  .object({
    name: z.string(),
    label: z.string().nullable(),
    description: z.string().nullable(),
    owner: z.string().nullable(),
    tags: z.array(z.string()),
    version: z.int(),
    source: z.string().nullable().describe('the file it was read from'),
    updatedAt: isoDate,
    size: z.int(),
    previousSize: z.int().nullable().describe('size at the refresh before the last'),
    definition: z.looseObject({ name: z.string() }).describe('the definition (see SegmentDefinition)'),
  })
  .meta({ id: 'SegmentListing' });

const DraftBody = z.object({
  yaml: z
    .string()
    .min(1)
    .max(100_000)
    .describe('the segment definition as YAML (or JSON), as in a segment file'),
});

const ProblemSchema = z.object({
  file: z.string(),
  line: z.int().optional(),
  path: z.string().describe('where in the definition, e.g. where.and.1.performed.within'),
  message: z.string().describe('what is wrong and how to fix it'),
});

const PlaySchema = z
  .object({
    name: z.string(),
    segment: z.string(),
    offer: z.string(),
    channel: z.string(),
    destination: z.string().nullable(),
    trigger: z.string().describe('on enter, on a schedule, …, as text'),
    cadence: z.string().nullable(),
    priority: z.int(),
    kpi: z.string().nullable(),
    holdout: z.number(),
  })
  .meta({ id: 'PlayRow' });

export function dashboardApiRoutes(options: { playbook?: string; segmentsDir?: string } = {}) {
  const segmentsDir = () => options.segmentsDir ?? loadConfig().segments ?? DEFAULT_SEGMENTS_DIR;
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/overview',
      permission: 'read',
      tag: 'dashboard',
      summary: 'Events, people, revenue per day, rejected events and their reasons, the last refreshes',
      query: z.object({ days: z.coerce.number().int().min(1).max(3660).default(90) }),
      response: OverviewSchema,
      handler: async ({ query }, { wh }) => {
        const s = await overviewTotals(wh);
        return jsonDates({
          ...s,
          daily: await dailyActivity(wh, { days: query.days }),
          rejections: await rejectionReasons(wh),
          refreshes: await recentRefreshes(wh),
        }) as z.input<typeof OverviewSchema>;
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/segments',
      permission: 'read',
      tag: 'segments',
      summary: 'Every active segment: label, owner, tags, size now and at the refresh before',
      response: z.object({ segments: z.array(SegmentListingSchema) }),
      handler: async (_input, { wh }) =>
        jsonDates({ segments: await listSegments(wh) }) as {
          segments: z.input<typeof SegmentListingSchema>[];
        },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/segments/:name/history',
      permission: 'read',
      tag: 'segments',
      summary: "A segment's size, entries and exits per refresh, oldest first",
      params: z.object({ name: z.string().min(1).max(100) }),
      response: z.object({
        history: z.array(
          z.object({ asOf: isoDate, version: z.int(), size: z.int(), entered: z.int(), exited: z.int() }),
        ),
      }),
      handler: async ({ params }, { wh }) =>
        jsonDates({ history: await segmentHistory(wh, params.name) }) as {
          history: { asOf: string; version: number; size: number; entered: number; exited: number }[];
        },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/segments/:name/changes',
      permission: 'read',
      tag: 'segments',
      summary:
        "A segment's change log, newest first: definition versions, files saved from the dashboard, retirement",
      params: z.object({ name: z.string().min(1).max(100) }),
      query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      response: z.object({ changes: z.array(AuditRowSchema) }),
      handler: async ({ params, query }, { wh }) =>
        jsonDates({ changes: await segmentChangeLog(wh, params.name, query.limit) }) as {
          changes: z.input<typeof AuditRowSchema>[];
        },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/segments/drafts/check',
      permission: 'read',
      tag: 'segments',
      summary: 'Check a segment definition as `segflow segments check` does, against the segments folder',
      body: DraftBody,
      response: z.object({ ok: z.boolean(), name: z.string().nullable(), problems: z.array(ProblemSchema) }),
      handler: async ({ body }) => {
        const c = checkSegmentDraft(segmentsDir(), body.yaml);
        return {
          ok: c.problems.length === 0 && c.definition !== undefined,
          name: c.definition?.name ?? null,
          problems: c.problems,
        };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/segments/drafts/estimate',
      permission: 'read',
      tag: 'segments',
      summary: 'Size and a sample of members of a segment definition, without saving it',
      body: DraftBody.extend({ sample: z.int().min(0).max(100).default(10) }),
      response: z.object({
        asOf: isoDate,
        size: z.int(),
        population: z.int(),
        sample: z.array(z.string()),
      }),
      handler: async ({ body }, { wh }) =>
        jsonDates(await estimateSegmentDraft(wh, segmentsDir(), body.yaml, { sample: body.sample })) as {
          asOf: string;
          size: number;
          population: number;
          sample: string[];
        },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/segments/drafts/save',
      permission: 'admin',
      tag: 'segments',
      summary:
        'Save a segment definition as a YAML file in the segments folder (audited); the next refresh uses it',
      body: DraftBody,
      response: z.object({ name: z.string(), file: z.string(), created: z.boolean() }),
      status: 201,
      handler: async ({ body }, { wh, key }) => {
        const saved = saveSegmentDraft(segmentsDir(), body.yaml);
        await recordAudit(wh, {
          actor: `key:${key.id}`,
          action: saved.created ? 'segment.file.create' : 'segment.file.change',
          target: saved.definition.name,
          source: 'dashboard',
          detail: { file: saved.file },
        });
        return { name: saved.definition.name, file: saved.file, created: saved.created };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/persons',
      permission: 'read',
      tag: 'persons',
      summary: 'Find people by any identifier (exact) or by email (any case)',
      query: z.object({
        q: z.string().min(1).max(1000).describe('an identifier or an email address'),
        limit: z.coerce.number().int().min(1).max(100).default(20),
      }),
      response: z.object({
        matches: z.array(
          z.object({
            personId: z.string(),
            email: z.string().nullable(),
            identified: z.boolean(),
            lastSeen: isoDate,
            matchedBy: z.enum(['identifier', 'email']),
          }),
        ),
      }),
      handler: async ({ query }, { wh }) =>
        jsonDates({ matches: await findPersons(wh, query.q, { limit: query.limit }) }) as {
          matches: {
            personId: string;
            email: string | null;
            identified: boolean;
            lastSeen: string;
            matchedBy: 'identifier' | 'email';
          }[];
        },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/persons/:id/decision',
      permission: 'read',
      tag: 'personalize',
      summary:
        "decide() for a person's page: the best play now and its reasons, from this person's rows; records nothing",
      description:
        "The same decision as `GET /api/v1/decide/{personId}?record=false`, read from this person's rows alone: that " +
        'route answers from a snapshot of everyone, whose first load (seconds on a big database) holds up every ' +
        'other request while it runs — too much for one page view.',
      params: z.object({ id: z.string().min(1).max(1000).describe('any identifier of the person') }),
      response: DecisionSchema,
      handler: async ({ params }, { wh }) =>
        jsonDates(
          await decide(wh, cachedPlaybook(playbookPath(options.playbook)), params.id, {
            asOf: new Date(),
            record: false,
          }),
        ) as z.input<typeof DecisionSchema>,
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/reports/rfm/cell',
      permission: 'read',
      tag: 'model',
      summary: 'The people in one cell of the RFM grid (recency r, frequency f), highest spend first',
      query: z.object({
        r: z.coerce.number().int().min(1).max(5),
        f: z.coerce.number().int().min(1).max(5),
        limit: z.coerce.number().int().min(1).max(1000).default(50),
      }),
      response: z.object({
        asOf: isoDate.nullable(),
        size: z.int(),
        people: z.array(
          z.object({ personId: z.string(), monetary: z.number().nullable(), group: z.string().nullable() }),
        ),
      }),
      handler: async ({ query }, { wh }) =>
        jsonDates(await rfmCellPeople(wh, query)) as {
          asOf: string | null;
          size: number;
          people: { personId: string; monetary: number | null; group: string | null }[];
        },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/playbook',
      permission: 'read',
      tag: 'activate',
      summary: 'The decision matrix: each play’s segment, offer, channel, trigger, cadence and holdout',
      response: z.object({ file: z.string(), plays: z.array(PlaySchema) }),
      handler: async () => {
        const file = playbookPath(options.playbook);
        if (!existsSync(file)) return { file, plays: [] };
        const pb = cachedPlaybook(file);
        return {
          file,
          plays: pb.plays.map((p) => ({
            name: p.name,
            segment: p.segment,
            offer: p.offer,
            channel: p.channel,
            destination: p.destination ?? null,
            trigger: Object.entries(p.trigger)
              .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
              .join(', '),
            cadence: p.cadence ?? null,
            priority: p.priority,
            kpi: p.kpi ?? null,
            holdout: p.holdout,
          })),
        };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/govern/review/apply',
      permission: 'admin',
      tag: 'govern',
      summary: 'Apply the segment review to one segment: retire it if the review says retire (history stays)',
      body: z.object({ segment: z.string().min(1).max(100) }),
      response: z.object({
        segment: z.string(),
        recommendation: z.enum(['keep', 'merge', 'retire']),
        retired: z.boolean(),
      }),
      handler: async ({ body }, { wh, key }) => {
        const review = (await reviewSegments(wh)).find((r) => r.segment === body.segment);
        if (!review) {
          throw new SegflowError(
            'NOT_FOUND',
            `no active segment named '${body.segment}'`,
            'GET /api/v1/govern/review lists the segments under review',
          );
        }
        const retired = review.recommendation === 'retire' && (await retireSegment(wh, body.segment));
        if (retired) {
          await recordAudit(wh, {
            actor: `key:${key.id}`,
            action: 'segment.retire',
            target: body.segment,
            source: 'dashboard',
            detail: { reasons: review.reasons },
          });
        }
        return { segment: body.segment, recommendation: review.recommendation, retired };
      },
    }),
  ];
}
