import { existsSync } from 'node:fs';
import { z } from 'zod';
import { ActivationSummarySchema, runActivation } from '../activate/activate-run.js';
import {
  AudienceExportSchema,
  exportAudience,
  listAudienceExports,
} from '../activate/destinations/audience-file.js';
import { DELIVERY_STATUSES, DeliveryRowSchema, listDeliveries, retryDeliveries } from '../activate/outbox.js';
import { PlayTestSendSchema, testSendPlay } from '../activate/play-test-send.js';
import { cachedPlaybook, playbookPath } from '../activate/playbook-file.js';
import { loadConfig } from '../config/config.js';
import { fromWorkingDir } from '../config/working-dir.js';
import type { Warehouse } from '../engine/warehouse.js';
import { auditDefinitionChanges, definitionVersions } from '../govern/audit.js';
import { confinedDir, dataRootOf } from '../govern/confined-path.js';
import { DecisionSchema, decide } from '../personalize/decide.js';
import { DecideService } from '../personalize/decide-snapshot.js';
import type { ExposureRecorder } from '../personalize/exposure-recorder.js';
import { runCycle } from '../pipeline/cycle.js';
import { RefreshSummarySchema } from '../pipeline/refresh-summary.js';
import { defineRoute, jsonDates } from './admin-routes.js';

const STATUS = z.enum(DELIVERY_STATUSES);

/**
 * The decide services of a server, one per warehouse (its snapshot kept in memory), and how to load it before the
 * server listens.
 *
 * @example
 * const decide = decideServices({ playbook: 'playbook.yaml', exposures });
 * await decide.warm(wh); // before listen: the first decisions are lookups
 */
export function decideServices(options: { playbook?: string; exposures?: ExposureRecorder }) {
  const services = new WeakMap<Warehouse, DecideService>();
  const serviceFor = (wh: Warehouse) => {
    let s = services.get(wh);
    if (!s) {
      s = new DecideService(wh, 1000, options.exposures);
      services.set(wh, s);
    }
    return s;
  };
  return {
    serviceFor,
    /** Load the snapshot when there is a playbook file (a server without one decides nothing). */
    async warm(wh: Warehouse): Promise<void> {
      const path = playbookPath(options.playbook);
      if (!existsSync(fromWorkingDir(path))) return;
      await serviceFor(wh).warm(cachedPlaybook(path));
    },
  };
}

/** Activate and Personalize over the admin API: the same functions as `segflow decide | activate | deliveries`. */
export function activateRoutes(
  options: {
    playbook?: string;
    segmentsDir?: string;
    exposures?: ExposureRecorder;
    /** The server's decide services (decideServices), when it loads them before it listens. */
    decide?: ReturnType<typeof decideServices>;
  } = {},
) {
  const playbook = () => cachedPlaybook(playbookPath(options.playbook));
  // Decisions "now" come from an in-memory snapshot kept fresh in the background; "as of" ones query directly.
  const { serviceFor } = options.decide ?? decideServices(options);
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/decide/:personId',
      permission: 'read',
      tag: 'personalize',
      summary: 'The best play for one person now: its offer, channel and content variant, and the reasons',
      description:
        'Records the exposure of an in-app play (treatment, or holdout when the person would have been served but ' +
        'is held out) once per person and play per re-entry episode, in batches behind the answer. `asOf` ' +
        '(a backtest) and `record=false` (a preview) record nothing; `recording` says which.',
      params: z.object({ personId: z.string().min(1).max(1000).describe('any identifier of the person') }),
      query: z.object({
        asOf: z.iso.datetime().optional().describe('decide as of this time: read-only, records nothing'),
        record: z
          .enum(['true', 'false'])
          .default('true')
          .describe('false: a preview that records no exposure'),
      }),
      response: DecisionSchema,
      // A decision now is answered from the decide snapshot, which follows the loads on its own (within about a
      // second); waiting for the intake log's next load made every decision wait as long as a load (0.4–0.8 s at
      // 5,000 events/s on a million people) without its answer being any fresher. A decision as of a time reads the
      // warehouse, so it sees every acknowledged event first, as other admin reads do.
      settles: (query) => query.asOf !== undefined,
      handler: async ({ params, query }, { wh }) =>
        jsonDates(
          query.asOf
            ? await decide(wh, playbook(), params.personId, { asOf: new Date(query.asOf), record: false })
            : await serviceFor(wh).decide(playbook(), params.personId, { record: query.record === 'true' }),
        ) as z.input<typeof DecisionSchema>,
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/deliveries',
      permission: 'read',
      tag: 'activate',
      summary: 'Deliveries, newest first, by status, play or person',
      query: z.object({
        status: STATUS.optional(),
        play: z.string().max(200).optional(),
        personId: z.string().max(1000).optional(),
        limit: z.coerce.number().int().min(1).max(10_000).default(100),
      }),
      response: z.object({ deliveries: z.array(DeliveryRowSchema) }),
      handler: async ({ query }, { wh }) =>
        jsonDates({ deliveries: await listDeliveries(wh, query) }) as {
          deliveries: z.input<typeof DeliveryRowSchema>[];
        },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/deliveries/retry',
      permission: 'admin',
      tag: 'activate',
      summary: 'Queue dead deliveries again (one by id, or all)',
      body: z.object({ id: z.number().int().optional(), allDead: z.boolean().optional() }),
      response: z.object({ requeued: z.number() }),
      handler: async ({ body }, { wh, between }) => ({
        requeued: await between(() => retryDeliveries(wh, body)),
      }),
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/activate/run',
      permission: 'admin',
      tag: 'activate',
      summary: 'Process segment changes and schedules, then send what is due',
      body: z.object({
        asOf: z.iso.datetime().optional(),
        includeCurrent: z
          .boolean()
          .optional()
          .describe('a new play (on enter) also decides about everyone already in its segment'),
      }),
      response: ActivationSummarySchema,
      // Between evaluations: a streaming evaluation runs the same plays (cursors, deliveries) across two holds.
      handler: async ({ body }, { wh, key, between }) =>
        between(async () => {
          // Plays created or changed by this run are audited under the key, as the CLI audits them under its user.
          const versions = await definitionVersions(wh, 'plays');
          const run = await runActivation(wh, playbook(), {
            ...(body.asOf ? { asOf: new Date(body.asOf) } : {}),
            includeCurrent: body.includeCurrent === true,
          });
          await auditDefinitionChanges(wh, 'plays', versions, { actor: `key:${key.id}`, source: 'api' });
          return jsonDates(run) as z.input<typeof ActivationSummarySchema>;
        }),
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/plays/:play/test',
      permission: 'admin',
      tag: 'activate',
      summary: 'A dry run or test send of one play for one person: the message its destination would get',
      description:
        'Records nothing (no delivery, exposure or cursor). `send: true` sends it; `to` sends to that email address ' +
        '(email destinations) or URL (webhook, http_sync) instead of the configured one. `notes` say what a real ' +
        'delivery to the person would meet (consent, suppression).',
      params: z.object({ play: z.string().min(1).max(200) }),
      body: z.object({
        person: z
          .string()
          .min(1)
          .max(1000)
          .describe('any identifier of the person whose traits fill the message'),
        to: z.string().min(1).max(2000).optional(),
        variant: z.string().min(1).max(200).optional(),
        send: z.boolean().default(false),
      }),
      response: PlayTestSendSchema,
      handler: async ({ params, body }, { wh }) =>
        jsonDates(
          await testSendPlay(wh, playbook(), {
            play: params.play,
            person: body.person,
            send: body.send,
            ...(body.to !== undefined ? { to: body.to } : {}),
            ...(body.variant !== undefined ? { variant: body.variant } : {}),
          }),
        ) as z.input<typeof PlayTestSendSchema>,
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/audiences',
      permission: 'read',
      tag: 'activate',
      summary: 'Audience files written, newest first',
      response: z.object({ exports: z.array(AudienceExportSchema) }),
      handler: async (_input, { wh }) =>
        jsonDates({ exports: await listAudienceExports(wh) }) as {
          exports: z.input<typeof AudienceExportSchema>[];
        },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/audiences/:segment/export',
      permission: 'admin',
      tag: 'activate',
      summary: "Write a segment's audience file (full, or the delta since the last export)",
      params: z.object({ segment: z.string().min(1).max(200) }),
      body: z.object({
        format: z.enum(['csv', 'parquet']).default('csv'),
        mode: z.enum(['full', 'delta']).default('full'),
        dir: z
          .string()
          .max(1000)
          .default('audiences')
          .describe('a folder relative to the data root (absolute paths, `..` and symlinks out are refused)'),
        traits: z.array(z.string().max(200)).max(50).default([]),
        hashedEmail: z.boolean().default(false),
      }),
      response: AudienceExportSchema,
      handler: async ({ params, body }, { wh }) =>
        jsonDates(
          await exportAudience(wh, {
            segment: params.segment,
            ...body,
            dir: confinedDir(dataRootOf(wh, loadConfig().dataRoot), body.dir),
          }),
        ) as z.input<typeof AudienceExportSchema>,
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/refresh',
      permission: 'admin',
      tag: 'activate',
      summary: 'One turn of the loop now: features, every segment, then the playbook (triggers and outbox)',
      body: z.object({
        asOf: z.iso.datetime().optional(),
        full: z
          .boolean()
          .default(false)
          .describe(
            'recompute every person from their events instead of only those whose features can have changed',
          ),
      }),
      response: RefreshSummarySchema,
      handler: async ({ body }, { wh, between }) =>
        jsonDates(
          await between(() =>
            runCycle(wh, {
              fullRefresh: body.full,
              ...(body.asOf ? { asOf: new Date(body.asOf) } : {}),
              ...(options.segmentsDir ? { segmentsDir: options.segmentsDir } : {}),
              ...(options.playbook ? { playbook: options.playbook } : {}),
            }),
          ),
        ) as z.input<typeof RefreshSummarySchema>,
    }),
  ];
}
