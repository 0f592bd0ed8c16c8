import { z } from 'zod';
import { DeliveryActivitySchema, deliveryActivity } from '../activate/delivery-activity.js';
import { loadConfig } from '../config/config.js';
import type { Warehouse } from '../engine/warehouse.js';
import { PurgeResultSchema, purgeExpired, retentionConfig } from '../govern/retention.js';
import { intakeRate } from '../instrument/activity.js';
import { PersonTimelineSchema, personTimeline } from '../instrument/person-timeline.js';
import { LifecycleReportSchema, lifecycleReport } from '../model/lifecycle-trend.js';
import { modelConfig } from '../model/model-config.js';
import { PredictionDistributionsSchema, predictionDistributions } from '../model/prediction-distributions.js';
import { type FunnelReport, FunnelReportSchema, funnelReport } from '../model/reports.js';
import { defineRoute, jsonDates } from './admin-routes.js';
import type { GroupCommitter } from './group-commit.js';
import type { Metrics } from './metrics.js';

/**
 * More routes the dashboard's pages read: the collector's health (overview), lifecycle trend and tiers and funnels
 * (behaviour), the P(alive) and CLV distributions (models), deliveries per day (plays), a person's paged timeline with properties (people) and the retention
 * windows with what a purge would delete now (govern). Each is a library function; the routes only wire them.
 */
const CollectorHealthSchema = z
  .object({
    status: z.enum(['ok', 'failing']),
    problem: z.string().nullable().describe('the last failed commit or load of the intake log, if any'),
    eventsPerSecond: z.object({
      lastMinute: z.number().describe('events stored per second over the last minute, by received time'),
      lastHour: z.number(),
    }),
    lastReceived: z.iso.datetime().nullable(),
    queue: z.object({
      requests: z.int().describe('requests waiting for their commit'),
      events: z.int(),
      inFlightEvents: z.int(),
      backlogEvents: z
        .int()
        .describe('acknowledged events in the intake log the database has not loaded yet'),
    }),
    sinceStart: z
      .object({ accepted: z.int(), deduplicated: z.int(), rejected: z.int() })
      .describe('events through this server process since it started'),
  })
  .meta({ id: 'CollectorHealth' });

type FunnelAnswer = FunnelReport & { funnels: string[] };

/**
 * Funnel reports as of the latest feature refresh, kept until the next one: a funnel follows every person's events
 * through its steps (seconds on millions of events), while the page is opened many times between two refreshes.
 */
function funnelsByRefresh() {
  const memo = new WeakMap<Warehouse, { refresh: string; answers: Map<string, Promise<FunnelAnswer>> }>();
  return async (wh: Warehouse, name: string, by: string | undefined): Promise<FunnelAnswer> => {
    const cfg = modelConfig(loadConfig().model);
    const [latest] = await wh.query<{ as_of: Date; refreshed_at: Date }>(
      'SELECT as_of, refreshed_at FROM feature_refreshes ORDER BY as_of DESC LIMIT 1',
    );
    const compute = async (asOf?: Date) => ({
      ...(await funnelReport(wh, cfg, name, { ...(asOf ? { asOf } : {}), ...(by ? { by } : {}) })),
      funnels: Object.keys(cfg.funnels),
    });
    if (!latest) return compute();
    const refresh = `${latest.as_of.toISOString()} ${latest.refreshed_at.toISOString()} ${JSON.stringify(cfg.funnels)}`;
    let held = memo.get(wh);
    if (held?.refresh !== refresh) {
      held = { refresh, answers: new Map() };
      memo.set(wh, held);
    }
    const key = JSON.stringify([name, by ?? null]);
    let answer = held.answers.get(key);
    if (!answer) {
      answer = compute(latest.as_of);
      held.answers.set(key, answer);
      // A failed report (an unknown funnel or feature) is not kept: the next request asks again.
      answer.catch(() => held.answers.delete(key));
    }
    return answer;
  };
}

export function dashboardReportRoutes(options: { committer?: GroupCommitter; metrics?: Metrics } = {}) {
  const funnel = funnelsByRefresh();
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/collector/health',
      permission: 'read',
      tag: 'dashboard',
      summary: "The collector's health: events per second, the write queue and backlog, failures",
      response: CollectorHealthSchema,
      handler: async (_input, { wh }) => {
        const rate = await intakeRate(wh);
        const c = options.committer;
        const failed = c?.lastError ?? c?.lastLoadError;
        const m = options.metrics;
        return {
          status: failed ? ('failing' as const) : ('ok' as const),
          problem: failed ? `${failed.at.toISOString()}: ${failed.message}` : null,
          eventsPerSecond: { lastMinute: rate.lastMinute / 60, lastHour: rate.lastHour / 3600 },
          lastReceived: rate.lastReceived?.toISOString() ?? null,
          queue: c?.depth() ?? { requests: 0, events: 0, inFlightEvents: 0, backlogEvents: 0 },
          sinceStart: {
            accepted: m?.eventsAccepted ?? 0,
            deduplicated: m?.eventsDeduplicated ?? 0,
            rejected: m?.eventsRejected ?? 0,
          },
        };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/reports/lifecycle',
      permission: 'read',
      tag: 'model',
      summary:
        'People per lifecycle stage over the last refreshes; engagement, intent and adoption tiers now',
      query: z.object({ refreshes: z.coerce.number().int().min(1).max(100).default(12) }),
      response: LifecycleReportSchema,
      handler: async ({ query }, { wh }) =>
        jsonDates(await lifecycleReport(wh, query)) as z.input<typeof LifecycleReportSchema>,
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/reports/funnel',
      permission: 'read',
      tag: 'model',
      summary:
        'A configured funnel as of the last refresh: people per step, conversion, median hours between steps; split by a feature',
      description:
        'Computed once per feature refresh and kept in memory until the next one (before the first refresh: as of now).',
      query: z.object({
        name: z.string().min(1).max(200).default('purchase').describe('a funnel under model.funnels'),
        by: z.string().max(200).optional().describe('split by this feature, e.g. rfm.group'),
      }),
      response: FunnelReportSchema.extend({
        funnels: z.array(z.string()).describe('every configured funnel, to choose from'),
      }),
      handler: async ({ query }, { wh }) =>
        jsonDates(await funnel(wh, query.name, query.by)) as z.input<typeof FunnelReportSchema> & {
          funnels: string[];
        },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/models/predictions/distribution',
      permission: 'read',
      tag: 'model',
      summary: 'How the latest P(alive) and CLV scores spread over the customers (20 bins each)',
      response: PredictionDistributionsSchema,
      handler: async (_input, { wh }) =>
        jsonDates(await predictionDistributions(wh)) as z.input<typeof PredictionDistributionsSchema>,
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/deliveries/daily',
      permission: 'read',
      tag: 'activate',
      summary: 'Deliveries per day by status (one play or all), and how many are dead now',
      query: z.object({
        play: z.string().max(200).optional(),
        days: z.coerce.number().int().min(1).max(3660).default(60),
      }),
      response: DeliveryActivitySchema,
      handler: async ({ query }, { wh }) => deliveryActivity(wh, query),
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/persons/:id/events',
      permission: 'read',
      tag: 'persons',
      summary: "A person's events with their properties, newest first, a page at a time",
      params: z.object({ id: z.string().min(1).max(1000).describe('any identifier of the person') }),
      query: z.object({
        page: z.coerce.number().int().min(0).max(100_000).default(0),
        pageSize: z.coerce.number().int().min(1).max(500).default(50),
      }),
      response: PersonTimelineSchema,
      handler: async ({ params, query }, { wh }) =>
        jsonDates(await personTimeline(wh, params.id, query)) as z.input<typeof PersonTimelineSchema>,
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/govern/retention',
      permission: 'read',
      tag: 'govern',
      summary: 'The retention windows and how many events a purge would delete now (deletes nothing)',
      response: PurgeResultSchema,
      handler: async (_input, { wh }) =>
        jsonDates(
          await purgeExpired(wh, retentionConfig(loadConfig().retention), { dryRun: true }),
        ) as z.input<typeof PurgeResultSchema>,
    }),
  ];
}
