import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Warehouse } from '../engine/warehouse.js';
import { SegflowError } from '../errors.js';
import {
  API_KEY_ROLES,
  createApiKey,
  listApiKeys,
  type Permission,
  revokeApiKey,
  type VerifiedKey,
} from '../govern/api-keys.js';
import { recordAudit } from '../govern/audit.js';
import { squashPersonOverrides } from '../instrument/persons-on-events.js';
import { getPerson, PersonProfileSchema } from '../instrument/profiles.js';
import { LiftResultSchema, meanLift, proportionLift } from '../measure/lift.js';
import { SrmResultSchema, sampleRatioMismatch } from '../measure/srm.js';
import { PersonFeaturesSchema } from '../model/feature-catalog.js';
import { personFeatures } from '../model/refresh-features.js';
import { RfmReportSchema, rfmReport } from '../model/reports.js';
import { membershipHistory, segmentMembers } from '../segment/memberships.js';
import { SegmentReportSchema, segmentReport } from '../segment/segment-report.js';
import { authorize, credentialFromHeader, malformedHeader, missingKey } from './auth.js';
import { validate } from './schemas.js';
import { CSRF_HEADER, type SessionStore, sessionOf } from './session.js';

/**
 * The admin API base: `/api/v1/*`, authenticated with `Authorization: Bearer <key>` and authorised by role (read or
 * admin). Each route is declared once with zod schemas for its parameters, query, body and response; the same
 * declaration validates requests and generates the OpenAPI document. Later capabilities add routes to ADMIN_ROUTES.
 */
export interface ApiContext {
  wh: Warehouse;
  key: VerifiedKey;
  /**
   * Run `fn` between streaming evaluations, never during one. An evaluation reads memberships, cursors and deliveries
   * in one hold of the warehouse and records the sends' outcome in another; a route changing those rows in between (a
   * privacy delete, an activation run) would act beside a decision already taken. Without a stream it runs `fn` at
   * once.
   */
  between<T>(fn: () => Promise<T>): Promise<T>;
}

type AnyObject = z.ZodObject<z.ZodRawShape>;

export interface ApiRoute {
  method: 'GET' | 'POST' | 'DELETE';
  /** Fastify-style path: `/api/v1/persons/:id`. */
  path: string;
  permission: Exclude<Permission, 'collect'>;
  summary: string;
  description?: string;
  tag: string;
  params?: AnyObject;
  query?: AnyObject;
  body?: z.ZodType;
  response: z.ZodType;
  /** Status of a successful answer; default 200. */
  status?: number;
  /**
   * Whether the answer waits until every event acknowledged before the request is loaded (see `settles`): true unless
   * the route says otherwise for a request's raw query.
   */
  settles?: (query: Record<string, unknown>) => boolean;
  handler(input: { params: unknown; query: unknown; body: unknown }, ctx: ApiContext): Promise<unknown>;
}

/**
 * Whether an admin request waits for the intake log's load of what was acknowledged before it (read-your-writes): every
 * admin route does, unless it declares `settles`.
 *
 * @example
 * if (settles(request.routeOptions.config, request.query)) await committer.settled();
 */
export function settles(config: unknown, query: unknown): boolean {
  const s = (config as { settles?: ApiRoute['settles'] } | undefined)?.settles;
  return s ? s((query ?? {}) as Record<string, unknown>) : true;
}

/** Declare a route with its handler typed from its schemas. */
export function defineRoute<
  P extends AnyObject = z.ZodObject<Record<string, never>>,
  Q extends AnyObject = z.ZodObject<Record<string, never>>,
  B extends z.ZodType = z.ZodUndefined,
  R extends z.ZodType = z.ZodType,
>(route: {
  method: ApiRoute['method'];
  path: string;
  permission: ApiRoute['permission'];
  summary: string;
  description?: string;
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  response: R;
  status?: number;
  settles?: ApiRoute['settles'];
  handler(
    input: { params: z.output<P>; query: z.output<Q>; body: z.output<B> },
    ctx: ApiContext,
  ): Promise<z.input<R>>;
}): ApiRoute {
  return route as unknown as ApiRoute;
}

const isoDate = z.iso.datetime().describe('ISO-8601, UTC');

const ApiKeySchema = z
  .object({
    id: z.string(),
    role: z.enum(API_KEY_ROLES),
    name: z.string().nullable(),
    prefix: z.string().describe('the first characters of the key, to tell keys apart'),
    createdAt: isoDate,
    revokedAt: isoDate.nullable(),
  })
  .meta({ id: 'ApiKey' });

const NewApiKeySchema = ApiKeySchema.extend({
  key: z.string().describe('the key itself: shown this once, never again'),
}).meta({ id: 'NewApiKey' });

/** Dates as ISO strings: what the response schemas say and what JSON carries. */
export function jsonDates<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value));
}

const SquashResultSchema = z
  .object({
    overrides: z.number().int().describe('identity merges folded in (and removed from person_overrides)'),
    events: z.number().int().describe('events whose stored person id was rewritten'),
  })
  .meta({ id: 'SquashResult' });

export const ADMIN_ROUTES: ApiRoute[] = [
  defineRoute({
    method: 'POST',
    path: '/api/v1/persons/squash',
    permission: 'admin',
    tag: 'persons',
    summary: 'Fold pending identity merges into the events',
    description:
      'Persons on events: each event stores the person id it resolved to at ingest; a later merge is an override that ' +
      'reads apply. This folds every pending override into the events (every refresh does it first). Changes no result.',
    response: SquashResultSchema,
    handler: async (_req, { wh }) => squashPersonOverrides(wh),
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/persons/:id',
    permission: 'read',
    tag: 'persons',
    summary: 'A person by any identifier',
    description:
      'Look a person up by any of their identifiers (userId, anonymousId, an alias, or the person id): the canonical ' +
      'id, every identifier, latest traits, consent, accounts and recent events.',
    params: z.object({ id: z.string().min(1).max(1000).describe('any identifier of the person') }),
    query: z.object({
      events: z.coerce.number().int().min(0).max(1000).default(20).describe('how many recent events'),
    }),
    response: PersonProfileSchema,
    handler: async ({ params, query }, { wh }) =>
      jsonDates(await getPerson(wh, params.id, query.events)) as z.input<typeof PersonProfileSchema>,
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/persons/:id/features',
    permission: 'read',
    tag: 'model',
    summary: "A person's behavioral features (the latest refresh at or before asOf)",
    params: z.object({ id: z.string().min(1).max(1000).describe('any identifier of the person') }),
    query: z.object({ asOf: z.iso.datetime().optional().describe('default: the latest refresh') }),
    response: PersonFeaturesSchema,
    handler: async ({ params, query }, { wh }) => {
      const row = await personFeatures(wh, params.id, {
        asOf: query.asOf ? new Date(query.asOf) : undefined,
      });
      if (!row) {
        throw new SegflowError(
          'NOT_FOUND',
          `no features for '${params.id}'`,
          'run `segflow refresh`, and check the identifier',
        );
      }
      return jsonDates(row) as z.input<typeof PersonFeaturesSchema>;
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/persons/:id/segments',
    permission: 'read',
    tag: 'segments',
    summary: "A person's segment memberships over time",
    params: z.object({ id: z.string().min(1).max(1000) }),
    response: z.object({
      memberships: z.array(
        z.object({ segment: z.string(), enteredAt: isoDate, exitedAt: isoDate.nullable() }),
      ),
    }),
    handler: async ({ params }, { wh }) =>
      jsonDates({ memberships: await membershipHistory(wh, params.id) }) as {
        memberships: { segment: string; enteredAt: string; exitedAt: string | null }[];
      },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/segments/:name/members',
    permission: 'read',
    tag: 'segments',
    summary: 'Current members of a segment (as of its last refresh)',
    params: z.object({ name: z.string().min(1).max(100) }),
    query: z.object({ limit: z.coerce.number().int().min(1).max(100_000).default(100) }),
    response: z.object({
      size: z.int(),
      members: z.array(z.object({ personId: z.string(), enteredAt: isoDate })),
    }),
    handler: async ({ params, query }, { wh }) =>
      jsonDates(await segmentMembers(wh, params.name, { limit: query.limit })) as {
        size: number;
        members: { personId: string; enteredAt: string }[];
      },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/segments/report',
    permission: 'read',
    tag: 'segments',
    summary: 'Sizes and trend, overlap (Jaccard) and warnings: empty, tiny, near-duplicate segments',
    response: SegmentReportSchema,
    handler: async (_input, { wh }) =>
      jsonDates(await segmentReport(wh)) as z.input<typeof SegmentReportSchema>,
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/reports/rfm',
    permission: 'read',
    tag: 'model',
    summary: 'The R×F grid with customers and revenue share, and the named RFM groups',
    response: RfmReportSchema,
    handler: async (_input, { wh }) => jsonDates(await rfmReport(wh)) as z.input<typeof RfmReportSchema>,
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/stats/lift',
    permission: 'read',
    tag: 'measure',
    summary: 'Lift calculator: absolute and relative lift with Welch intervals, from per-arm aggregates',
    description:
      'Give each arm as {n, sum, sumSquares} for a per-person metric, or {n, conversions} for a conversion rate. ' +
      'Same numbers as `segflow stats lift`; see docs/statistics.md.',
    body: z.object({
      control: z.union([
        z.object({ n: z.number(), sum: z.number(), sumSquares: z.number() }),
        z.object({ n: z.number(), conversions: z.number() }),
      ]),
      treatment: z.union([
        z.object({ n: z.number(), sum: z.number(), sumSquares: z.number() }),
        z.object({ n: z.number(), conversions: z.number() }),
      ]),
      alpha: z.number().gt(0).lt(1).optional(),
    }),
    response: LiftResultSchema,
    handler: async ({ body }) => {
      const { control, treatment, alpha } = body;
      if ('conversions' in control && 'conversions' in treatment) {
        return proportionLift({ control, treatment, alpha });
      }
      if ('sum' in control && 'sum' in treatment) {
        return meanLift({ control, treatment, alpha });
      }
      throw new SegflowError(
        'STATS_INPUT_INVALID',
        'both arms must be of the same kind',
        'give {n, sum, sumSquares} for both arms, or {n, conversions} for both',
      );
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/stats/srm',
    permission: 'read',
    tag: 'measure',
    summary: 'Sample-ratio-mismatch check (chi-square), flagged at p < 0.001',
    body: z.object({ counts: z.array(z.number()).min(2), weights: z.array(z.number()).optional() }),
    response: SrmResultSchema,
    handler: async ({ body }) => sampleRatioMismatch({ counts: body.counts, weights: body.weights }),
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/keys',
    permission: 'admin',
    tag: 'keys',
    summary: 'List API keys (never the keys themselves)',
    query: z.object({
      includeRevoked: z
        .enum(['true', 'false'])
        .default('false')
        .transform((v) => v === 'true')
        .describe('also list revoked keys'),
    }),
    response: z.object({ keys: z.array(ApiKeySchema) }),
    handler: async ({ query }, { wh }) =>
      jsonDates({ keys: await listApiKeys(wh, { includeRevoked: query.includeRevoked }) }) as {
        keys: z.input<typeof ApiKeySchema>[];
      },
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/keys',
    permission: 'admin',
    tag: 'keys',
    summary: 'Create an API key; the response holds the key, shown this once',
    body: z.object({
      role: z.enum(API_KEY_ROLES).describe('write sends events; read reads this API; admin does everything'),
      name: z.string().max(200).optional().describe('a note to tell keys apart'),
    }),
    response: NewApiKeySchema,
    status: 201,
    handler: async ({ body }, { wh }) =>
      jsonDates(await createApiKey(wh, body.role, { name: body.name })) as z.input<typeof NewApiKeySchema>,
  }),
  defineRoute({
    method: 'DELETE',
    path: '/api/v1/keys/:id',
    permission: 'admin',
    tag: 'keys',
    summary: 'Revoke an API key (it stops working at once)',
    params: z.object({ id: z.string().min(1).max(100) }),
    response: ApiKeySchema,
    handler: async ({ params }, { wh }) =>
      jsonDates(await revokeApiKey(wh, params.id)) as z.input<typeof ApiKeySchema>,
  }),
];

/**
 * What the audit log records of a call: every change (POST, DELETE) and every read of one person's data (the
 * /persons/:id routes); other reads (reports, lists) are not audited, nor is decide — the app personalising for the
 * person in front of it at a thousand requests a second, not someone looking a person up.
 */
export function auditActionOf(
  route: Pick<ApiRoute, 'method' | 'path'> & { permission?: string },
): string | null {
  // Privacy requests audit themselves (a delete must not write the identifier it just erased).
  if (route.path.includes('/privacy/')) return null;
  // A POST a read key may call changes nothing (calculators, the segment builder's check and size estimate).
  if (route.method === 'POST' && route.permission === 'read') return null;
  // Keys get the actions the CLI records, so one filter (`--action key.create`) finds them whichever way they came.
  if (route.method === 'POST' && route.path === '/api/v1/keys') return 'key.create';
  if (route.method === 'DELETE' && route.path === '/api/v1/keys/:id') return 'key.revoke';
  if (route.method !== 'GET') return `api ${route.method} ${route.path}`;
  if (route.path.includes('/persons/:id')) return 'person.read';
  return null;
}

async function adminKey(
  wh: Warehouse,
  request: FastifyRequest,
  permission: ApiRoute['permission'],
  sessions: SessionStore | undefined,
) {
  const cred = credentialFromHeader(request.headers.authorization);
  if (cred === 'malformed') throw malformedHeader();
  // The dashboard: no Authorization header, a session cookie instead; changes also need its CSRF token.
  const session = !cred && sessions ? sessionOf(sessions, request) : undefined;
  if (session) {
    if (request.method !== 'GET') sessions!.checkCsrf(session, request.headers[CSRF_HEADER]);
    return authorize(wh, session.key, permission);
  }
  if (!cred) throw missingKey('admin');
  return authorize(wh, cred.key, permission);
}

export function registerAdminRoutes(
  app: FastifyInstance,
  wh: Warehouse,
  routes: readonly ApiRoute[],
  sessions?: SessionStore,
  between: ApiContext['between'] = (fn) => fn(),
): void {
  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.path,
      config: { kind: 'admin', ...(route.settles ? { settles: route.settles } : {}) },
      handler: async (request, reply) => {
        const key = await adminKey(wh, request, route.permission, sessions);
        const input = {
          params: route.params ? validate(route.params, request.params, 'params') : {},
          query: route.query ? validate(route.query, request.query ?? {}, 'query') : {},
          body: route.body ? validate(route.body, request.body, 'body') : undefined,
        };
        const out = await route.handler(input, { wh, key, between });
        const audit = auditActionOf(route);
        if (audit) {
          const params = (input.params ?? {}) as Record<string, unknown>;
          const target = Object.values(params).find((v) => typeof v === 'string') as string | undefined;
          await recordAudit(wh, {
            actor: `key:${key.id}`,
            action: audit,
            target: target ?? null,
            source: request.ip,
          });
        }
        reply.code(route.status ?? 200);
        return out;
      },
    });
  }
}
