import { z } from 'zod';
import type { ApiRoute } from './admin-routes.js';
import type { Limits } from './body.js';
import { BATCH_PATHS, SINGLE_PATHS } from './collector-routes.js';
import {
  batchBodySchema,
  CollectorResponseSchema,
  ErrorSchema,
  postHogBodySchema,
  SegmentMessageSchema,
  SingleBodySchema,
} from './schemas.js';

type Json = Record<string, unknown>;

/**
 * The OpenAPI 3.1 document, generated from the zod schemas the routes validate with (OpenAPI 3.1 schemas are
 * JSON Schema 2020-12, which is what zod emits).
 */
export function buildOpenApi(options: {
  routes: readonly ApiRoute[];
  limits: Limits;
  version: string;
}): Json {
  const components: Record<string, unknown> = {};
  const schemaOf = (schema: z.ZodType, io: 'input' | 'output'): Json => {
    const js = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
    const defs = (js.$defs ?? {}) as Record<string, unknown>;
    delete js.$defs;
    delete js.$schema;
    for (const [k, v] of Object.entries(defs)) components[k] = relink(v);
    return relink(js) as Json;
  };
  const errorRef = () => {
    schemaOf(ErrorSchema, 'output');
    return { $ref: '#/components/schemas/Error' };
  };
  const error = (description: string) => ({
    description,
    content: { 'application/json': { schema: errorRef() } },
  });
  const json = (schema: z.ZodType, io: 'input' | 'output') => ({
    'application/json': { schema: schemaOf(schema, io) },
  });

  const paths: Record<string, Record<string, unknown>> = {};
  const add = (path: string, method: string, op: Json) => {
    paths[path] ??= {};
    paths[path][method] = op;
  };

  for (const r of options.routes) {
    const parameters = [
      ...parametersOf(r.params, 'path', schemaOf),
      ...parametersOf(r.query, 'query', schemaOf),
    ];
    add(r.path.replace(/:(\w+)/g, '{$1}'), r.method.toLowerCase(), {
      tags: [r.tag],
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      security: [{ apiKey: [] }],
      'x-segflow-role': r.permission,
      ...(parameters.length ? { parameters } : {}),
      ...(r.body ? { requestBody: { required: true, content: json(r.body, 'input') } } : {}),
      responses: {
        // 'input': the JSON form of the response (a Timestamp is an ISO string there, a Date in the library).
        [String(r.status ?? 200)]: { description: 'OK', content: json(r.response, 'input') },
        '400': error('the request does not match its schema (the message names each problem)'),
        '401': error('no key, or an unknown or revoked key'),
        '403': error(`the key's role does not allow this (needs ${r.permission})`),
        '404': error('not found'),
      },
    });
  }

  const collectorResponses = {
    '200': {
      description: 'Durably committed. Messages that failed validation are counted and described, and kept.',
      content: json(CollectorResponseSchema, 'output'),
    },
    '400': error(
      'never succeeds, do not retry: not JSON, over the size limit, too many messages, or a body of the wrong shape',
    ),
    '401': error('no write key, or an unknown or revoked one'),
    '408': error('the body did not arrive in time; retry'),
    '415': error('a Content-Encoding other than gzip'),
    '429': error('the write queue is full; retry after Retry-After seconds'),
    '503': error('storage failed; nothing was kept; retry with the same messageIds'),
  };
  // The writeKey may instead be in the body ("writeKey"), which OpenAPI security schemes cannot express.
  const collectorSecurity = [{ writeKeyBasic: [] }, {}];
  schemaOf(SegmentMessageSchema, 'input');
  for (const p of BATCH_PATHS) {
    add(`/v1/${p}`, 'post', {
      tags: ['collector'],
      summary:
        p === 'b' ? 'A batch (analytics.js short form, sent as text/plain)' : `A batch of messages (${p})`,
      security: collectorSecurity,
      requestBody: { required: true, content: json(batchBodySchema(options.limits), 'input') },
      responses: collectorResponses,
    });
  }
  for (const [p, type] of Object.entries(SINGLE_PATHS)) {
    add(`/v1/${p}`, 'post', {
      tags: ['collector'],
      summary: `One ${type} message${p.length === 1 ? ' (analytics.js short form)' : ''}`,
      security: collectorSecurity,
      requestBody: { required: true, content: json(SingleBodySchema, 'input') },
      responses: collectorResponses,
    });
  }
  add('/batch/', 'post', {
    tags: ['collector'],
    summary: 'PostHog capture batch, mapped to Segment-spec messages',
    description: 'api_key in the body. Over the size limit answers 413 (posthog-node then halves its batch).',
    requestBody: { required: true, content: json(postHogBodySchema(options.limits), 'input') },
    responses: { ...collectorResponses, '413': error('over the size limit: send fewer events per batch') },
  });
  add('/v1/projects/{writeKey}/settings', 'get', {
    tags: ['collector'],
    summary: 'Settings for analytics.js, pointing it at this server',
    parameters: [{ name: 'writeKey', in: 'path', required: true, schema: { type: 'string' } }],
    responses: {
      '200': { description: 'analytics.js settings' },
      '401': error('unknown or revoked write key'),
    },
  });
  add('/healthz', 'get', {
    tags: ['operations'],
    summary: 'Liveness: 200 while the last commit succeeded, 503 after a failed one',
    responses: { '200': { description: 'healthy' }, '503': { description: 'the last commit failed' } },
  });
  add('/metrics', 'get', {
    tags: ['operations'],
    summary: 'Prometheus metrics (text format)',
    responses: {
      '200': { description: 'metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
    },
  });

  return {
    openapi: '3.1.0',
    info: {
      title: 'segflow',
      version: options.version,
      description:
        'The collector (Segment-spec paths, drop-in for Segment and PostHog SDKs) and the admin API. Every error ' +
        'has the shape {code, message, hint}.',
    },
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'a read or admin key: Authorization: Bearer <key>',
        },
        writeKeyBasic: {
          type: 'http',
          scheme: 'basic',
          description: 'Basic base64(writeKey:); or "writeKey" in the body (PostHog: "api_key")',
        },
      },
    },
  };
}

function relink(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', '"#/components/schemas/'));
}

function parametersOf(
  schema: z.ZodObject<z.ZodRawShape> | undefined,
  where: 'path' | 'query',
  schemaOf: (s: z.ZodType, io: 'input' | 'output') => Json,
): Json[] {
  if (!schema) return [];
  return Object.entries(schema.shape).map(([name, field]) => {
    const s = schemaOf(field as z.ZodType, 'input');
    const description = s.description;
    return {
      name,
      in: where,
      required: where === 'path' || !(field as z.ZodType).safeParse(undefined).success,
      ...(description ? { description } : {}),
      schema: s,
    };
  });
}
