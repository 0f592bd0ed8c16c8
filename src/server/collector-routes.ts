import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Warehouse } from '../engine/warehouse.js';
import type { VerifiedKey } from '../govern/api-keys.js';
import type { PreparedMessage } from '../instrument/prepare-message.js';
import type { MessageType } from '../instrument/segment-spec.js';
import { authorize, credentialFromHeader, malformedHeader, missingKey } from './auth.js';
import { isPlainObject, type Limits, toStorable } from './body.js';
import type { GroupCommitter, SubmitResult } from './group-commit.js';
import { HttpError } from './http-error.js';
import { postHogToSegment, readPostHogBody } from './posthog.js';
import { batchBodySchema, postHogBodySchema, SingleBodySchema, validate } from './schemas.js';

/**
 * The collector: Segment's HTTP tracking API paths (and analytics.js short forms, and PostHog's batch), so SDKs need
 * only their host changed. Every accepted request is answered 200 only after its messages are durably committed.
 */
export interface CollectorDeps {
  wh: Warehouse;
  committer: GroupCommitter;
  limits: Limits;
}

export const SINGLE_PATHS: Readonly<Record<string, MessageType>> = {
  track: 'track',
  identify: 'identify',
  page: 'page',
  screen: 'screen',
  group: 'group',
  alias: 'alias',
  t: 'track',
  i: 'identify',
  p: 'page',
  s: 'screen',
  g: 'group',
  a: 'alias',
};
export const BATCH_PATHS = ['batch', 'import', 'b'] as const;

interface CollectorState {
  receivedAt: string;
  /** A key from the Authorization header, verified. */
  key: VerifiedKey | undefined;
  /** A Bearer token that is not a segflow key (OAuth-style): the writeKey must then be in the body. */
  bearerOnly: boolean;
}

const states = new WeakMap<FastifyRequest, CollectorState>();

/** onRequest for collector routes: note the arrival time, and check a key sent in the Authorization header. */
async function collectorOnRequest(
  deps: CollectorDeps,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  reply.header('access-control-allow-origin', '*');
  const state: CollectorState = { receivedAt: new Date().toISOString(), key: undefined, bearerOnly: false };
  states.set(request, state);
  const cred = credentialFromHeader(request.headers.authorization);
  if (cred === 'malformed') throw malformedHeader();
  if (!cred) return;
  if (cred.scheme === 'basic') state.key = await authorize(deps.wh, cred.key, 'collect');
  else {
    // A Bearer token may be a segflow key, or an OAuth token sent beside the writeKey in the body.
    try {
      state.key = await authorize(deps.wh, cred.key, 'collect');
    } catch {
      state.bearerOnly = true;
    }
  }
}

async function keyFor(
  deps: CollectorDeps,
  request: FastifyRequest,
  bodyKey: unknown,
): Promise<CollectorState> {
  const state = states.get(request)!;
  if (state.key) return state;
  if (typeof bodyKey === 'string' && bodyKey !== '') {
    state.key = await authorize(deps.wh, bodyKey, 'collect');
    return state;
  }
  throw state.bearerOnly
    ? new HttpError(
        401,
        'AUTH_INVALID',
        'the Bearer token is not a segflow key, and there is no writeKey in the body',
        'send the writeKey in the body, or Authorization: Basic base64(writeKey:)',
      )
    : missingKey('collector');
}

function requireBody(body: unknown): unknown {
  if (body === undefined) {
    throw new HttpError(
      400,
      'BODY_INVALID',
      'the request has no body',
      'send one JSON object, e.g. {"batch":[{"type":"track","event":"Signed Up","userId":"u1"}]}',
    );
  }
  return body;
}

interface Envelope {
  receivedAt: string;
  type?: MessageType;
  sentAt?: unknown;
  context?: unknown;
  integrations?: unknown;
}

/**
 * Each message prepared for the pipeline (prepare-message.ts), as stored: the server's receivedAt (as Segment
 * does), the path's type for single-message endpoints, the batch's sentAt/context/integrations under the message's
 * own, and no writeKey.
 */
export function preparedMessages(messages: readonly unknown[], env: Envelope): PreparedMessage[] {
  const receivedAt = new Date(env.receivedAt);
  const sharedContext = isPlainObject(env.context) ? env.context : undefined;
  const sharedIntegrations = isPlainObject(env.integrations) ? env.integrations : undefined;
  return messages.map((m) => {
    if (!isPlainObject(m)) return toStorable(m, receivedAt);
    if (m.writeKey !== undefined) m.writeKey = undefined;
    if (env.type) m.type = env.type;
    m.receivedAt = env.receivedAt;
    if (m.sentAt === undefined && env.sentAt !== undefined) m.sentAt = env.sentAt;
    if (sharedContext && (m.context === undefined || isPlainObject(m.context))) {
      m.context = { ...sharedContext, ...(m.context as Record<string, unknown> | undefined) };
    }
    if (sharedIntegrations && (m.integrations === undefined || isPlainObject(m.integrations))) {
      m.integrations = { ...sharedIntegrations, ...(m.integrations as Record<string, unknown> | undefined) };
    }
    return toStorable(m, receivedAt);
  });
}

function respond(result: SubmitResult) {
  return {
    success: true as const,
    received: result.received,
    accepted: result.received - result.rejected,
    rejected: result.rejected,
    problems: result.problems,
  };
}

function batchTooLarge(limits: Limits, n: number | undefined): HttpError {
  return new HttpError(
    400,
    'BATCH_TOO_LARGE',
    `the batch has ${n === undefined ? 'more than' : `${n} messages, more than`} ${limits.maxBatchEvents} messages`,
    `send at most ${limits.maxBatchEvents} messages per batch`,
  );
}

export function registerCollectorRoutes(app: FastifyInstance, deps: CollectorDeps): void {
  const onRequest = (request: FastifyRequest, reply: FastifyReply) =>
    collectorOnRequest(deps, request, reply);
  const batchSchema = batchBodySchema(deps.limits);
  const postHogSchema = postHogBodySchema(deps.limits);

  for (const [path, type] of Object.entries(SINGLE_PATHS)) {
    app.post(`/v1/${path}`, { onRequest, config: { kind: 'collector' } }, async (request) => {
      const body = validate(SingleBodySchema, requireBody(request.body), 'body');
      const state = await keyFor(deps, request, body.writeKey);
      const messages = preparedMessages([body], { receivedAt: state.receivedAt, type });
      return respond(await deps.committer.submit(messages));
    });
  }

  for (const path of BATCH_PATHS) {
    app.post(`/v1/${path}`, { onRequest, config: { kind: 'collector' } }, async (request) => {
      const raw = requireBody(request.body);
      const body = validate(batchSchema, raw, 'body', {
        tooBig: (issue) =>
          issue.path[0] === 'batch'
            ? batchTooLarge(
                deps.limits,
                isPlainObject(raw) && Array.isArray(raw.batch) ? raw.batch.length : undefined,
              )
            : undefined,
      });
      // analytics.js puts the writeKey in each message of a /v1/b batch.
      const first = body.batch.find(isPlainObject);
      const state = await keyFor(deps, request, body.writeKey ?? first?.writeKey);
      const messages = preparedMessages(body.batch, {
        receivedAt: state.receivedAt,
        sentAt: body.sentAt,
        context: body.context,
        integrations: body.integrations,
      });
      return respond(await deps.committer.submit(messages));
    });
  }

  // PostHog capture batch. Oversize answers 413, on which posthog-node halves its batch and retries.
  app.post('/batch/', { onRequest, config: { kind: 'posthog' } }, async (request) => {
    const raw = requireBody(request.body);
    const parsed = readPostHogBody(raw);
    if (parsed && parsed.messages.length > deps.limits.maxBatchEvents) {
      throw batchTooLarge(deps.limits, parsed.messages.length);
    }
    validate(postHogSchema, raw, 'body');
    if (!parsed) throw new HttpError(400, 'BODY_INVALID', 'body.batch: expected an array of events');
    const state = await keyFor(deps, request, parsed.apiKey);
    const sentAt = isPlainObject(raw) ? raw.sent_at : undefined;
    const messages = preparedMessages(
      parsed.messages.map((e) => postHogToSegment(e, sentAt)),
      { receivedAt: state.receivedAt },
    );
    return { status: 1, ...respond(await deps.committer.submit(messages)) };
  });

  // analytics.js loads its settings from here when pointed at segflow (its CDN option).
  app.get<{ Params: { writeKey: string } }>(
    '/v1/projects/:writeKey/settings',
    { config: { kind: 'collector' } },
    async (request, reply) => {
      reply.header('access-control-allow-origin', '*');
      await authorize(deps.wh, request.params.writeKey, 'collect');
      const proto =
        (request.headers['x-forwarded-proto'] as string | undefined)?.split(',')[0]?.trim() || 'http';
      return {
        integrations: {
          'Segment.io': {
            apiKey: request.params.writeKey,
            apiHost: `${request.host}/v1`,
            protocol: proto,
            unbundledIntegrations: [],
            addBundledMetadata: true,
            maybeBundledConfigIds: {},
          },
        },
        plan: {
          track: { __default: { enabled: true, integrations: {} } },
          identify: { __default: { enabled: true } },
          group: { __default: { enabled: true } },
        },
        edgeFunction: {},
        analyticsNextEnabled: true,
        middlewareSettings: {},
        enabledMiddleware: {},
        metrics: { sampleRate: 0 },
        legacyVideoPluginsEnabled: false,
        remotePlugins: [],
      };
    },
  );

  // CORS preflight for browsers sending JSON with an Authorization header.
  app.options('/v1/*', { config: { kind: 'collector' } }, async (_request, reply) => {
    reply
      .header('access-control-allow-origin', '*')
      .header('access-control-allow-methods', 'GET, POST, OPTIONS')
      .header('access-control-allow-headers', 'Content-Type, Authorization, Content-Encoding')
      .header('access-control-max-age', '86400')
      .code(204);
    return reply.send();
  });
}
