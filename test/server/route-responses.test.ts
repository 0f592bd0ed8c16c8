import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { generateEvents } from '../../src/generate/generate.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { modelConfig } from '../../src/model/model-config.js';
import { fitPurchaseModel } from '../../src/model/predict/model-fits.js';
import { fitPropensity } from '../../src/model/propensity/propensity.js';
import { type Receiver, SECRET, startReceiver } from '../activate/helpers.js';
import { tempDir } from '../helpers/temp.js';
import { startTestServer, type TestServer } from './helpers.js';

/**
 * Every admin API route, called for real (a server on 127.0.0.1 over a small generated shop), and each answer
 * validated against the response schema the server's own OpenAPI document gives for its status. The routes come
 * from the OpenAPI document, so a route added later is covered without touching this test: without an example call
 * below it is called with placeholder parameters (its 4xx answer must then match the documented Error), with one it
 * must answer 2xx. Routes are called in the order of EXAMPLES (a refresh first, a person's deletion last).
 */

// ajv-formats is CommonJS with a default export; under ESM interop it may arrive wrapped once more.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

type Json = Record<string, unknown>;
interface Example {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
}

const DAY = 86_400_000;
const START = Date.parse('2026-01-01T00:00:00Z');
const DAYS = 120;
const END = new Date(START + DAYS * DAY);
const at = (day: number) => new Date(START + day * DAY);

/** Segments and a playbook small enough to read at a glance, using what the generated shop produces. */
const SEGMENTS = {
  'buyers.yaml': `name: buyers
label: Bought in the last 60 days
where:
  performed: { event: Order Completed, within: 60d }
`,
  'browsers.yaml': `name: browsers
label: Viewed a product in the last 30 days
where:
  performed: { event: Product Viewed, within: 30d }
`,
};
const playbookFor = (receiverUrl: string) => `consent: { default: allow }
destinations:
  hook: { type: webhook, url: "${receiverUrl}", secret: "${SECRET}" }
plays:
  - name: thank-buyers
    segment: buyers
    offer: a thank-you note
    channel: webhook
    destination: hook
    priority: 10
    kpi: conversion_rate
    holdout: 0.2
`;

describe('admin API: every route answers what its OpenAPI schema says', () => {
  let server: TestServer;
  let receiver: Receiver;
  const dir = tempDir();
  let user = '';
  let anotherUser = '';
  let createdKey = '';

  before(async () => {
    const segmentsDir = join(dir, 'segments');
    mkdirSync(segmentsDir, { recursive: true });
    for (const [name, text] of Object.entries(SEGMENTS)) writeFileSync(join(segmentsDir, name), text);
    const playbook = join(dir, 'playbook.yaml');
    receiver = await startReceiver();
    writeFileSync(playbook, playbookFor(receiver.url));
    // A database file in the temp folder: its folder is the data root that audience exports are confined to.
    server = await startTestServer({ playbook, segmentsDir, dbPath: join(dir, 'routes.duckdb') });
    const messages: unknown[] = [];
    for (const unit of generateEvents({
      people: 300,
      days: DAYS,
      seed: 18,
      profile: 'ecommerce',
      start: new Date(START).toISOString(),
    })) {
      messages.push(...unit.events);
    }
    await ingestMessages(server.wh, messages, { source: 'test' });
    const buyers = await server.wh.query<{ user_id: string }>(
      `SELECT user_id FROM events WHERE event = 'Order Completed' AND user_id IS NOT NULL
       GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 2`,
    );
    assert.equal(buyers.length, 2, 'the generated shop has buyers');
    user = buyers[0]!.user_id;
    anotherUser = buyers[1]!.user_id;
    const config = modelConfig({});
    await fitPurchaseModel(server.wh, {
      model: 'bgnbd',
      purchases: { events: ['Order Completed'] },
      window: { end: at(90), holdoutEnd: END },
      timeUnit: 'days',
    });
    await fitPropensity(server.wh, {
      target: 'churn',
      horizon: '30d',
      trainAsOf: [at(45), at(60)],
      testAsOf: at(90),
      config,
    });
  });
  after(async () => {
    await server.close();
    await receiver.close();
  });

  /** Example calls by "METHOD /path/{param}", in the order they run. */
  const examples = (): [string, Example][] => [
    // The playbook's first run registers its play; people entering its segment afterwards are its triggers.
    ['POST /api/v1/activate/run', { body: { asOf: at(DAYS - 1).toISOString() } }],
    ['POST /api/v1/refresh', { body: { asOf: END.toISOString(), full: true } }],
    ['GET /api/v1/persons/{id}', { params: { id: user }, query: { events: '5' } }],
    ['GET /api/v1/persons/{id}/features', { params: { id: user } }],
    ['GET /api/v1/persons/{id}/segments', { params: { id: user } }],
    ['GET /api/v1/segments/{name}/members', { params: { name: 'buyers' }, query: { limit: '5' } }],
    ['GET /api/v1/segments/report', {}],
    ['GET /api/v1/segments/{name}/changes', { params: { name: 'buyers' } }],
    ['GET /api/v1/reports/rfm', {}],
    [
      'POST /api/v1/stats/lift',
      {
        body: {
          control: { n: 1000, sum: 5000, sumSquares: 40000 },
          treatment: { n: 1000, sum: 5400, sumSquares: 44000 },
        },
      },
    ],
    ['POST /api/v1/stats/srm', { body: { counts: [480, 520], weights: [0.5, 0.5] } }],
    ['GET /api/v1/keys', { query: { includeRevoked: 'true' } }],
    ['POST /api/v1/keys', { body: { role: 'read', name: 'route test' } }],
    ['DELETE /api/v1/keys/{id}', { params: { id: createdKey } }],
    ['GET /api/v1/models/{name}', { params: { name: 'bgnbd' } }],
    ['POST /api/v1/models/{name}/score', { params: { name: 'churn' }, body: { asOf: END.toISOString() } }],
    ['GET /api/v1/persons/{id}/scores', { params: { id: user } }],
    ['GET /api/v1/decide/{personId}', { params: { personId: user } }],
    ['GET /api/v1/persons/{id}/decision', { params: { id: user } }],
    ['GET /api/v1/decide/{personId}', { params: { personId: user }, query: { asOf: END.toISOString() } }],
    ['POST /api/v1/activate/run', { body: { asOf: END.toISOString() } }],
    ['POST /api/v1/plays/{play}/test', { params: { play: 'thank-buyers' }, body: { person: user } }],
    ['GET /api/v1/deliveries', { query: { limit: '10' } }],
    ['GET /api/v1/deliveries/daily', { query: { days: '30' } }],
    ['GET /api/v1/collector/health', {}],
    ['GET /api/v1/stream', {}],
    ['GET /api/v1/reports/lifecycle', {}],
    ['GET /api/v1/reports/funnel', { query: { name: 'purchase', by: 'rfm.group' } }],
    ['GET /api/v1/persons/{id}/events', { params: { id: user }, query: { pageSize: '5' } }],
    ['GET /api/v1/govern/retention', {}],
    ['GET /api/v1/models/predictions/distribution', {}],
    ['POST /api/v1/deliveries/retry', { body: { allDead: true } }],
    ['GET /api/v1/measure/{play}', { params: { play: 'thank-buyers' } }],
    [
      'POST /api/v1/audiences/{segment}/export',
      { params: { segment: 'buyers' }, body: { dir: 'audiences', format: 'csv' } },
    ],
    ['GET /api/v1/audiences', {}],
    ['GET /api/v1/govern/review', {}],
    ['POST /api/v1/govern/purge', { body: { dryRun: true, asOf: END.toISOString() } }],
    ['GET /api/v1/audit', { query: { limit: '20' } }],
    ['POST /api/v1/privacy/persons/{id}/export', { params: { id: anotherUser } }],
    ['POST /api/v1/privacy/persons/{id}/suppress', { params: { id: anotherUser }, body: { reason: 'test' } }],
    ['POST /api/v1/privacy/persons/{id}/delete', { params: { id: anotherUser } }],
    ['POST /api/v1/backups', { body: { file: 'routes-backup.duckdb' } }],
    [
      'POST /api/v1/backups/restore',
      { body: { backup: 'routes-backup.duckdb', to: 'routes-restored.duckdb' } },
    ],
  ];

  test('each route’s success response has a typed schema (not an untyped record)', () => {
    const doc = server.openapi as { paths: Record<string, Record<string, Json>>; components: Json };
    const untyped: string[] = [];
    for (const [route, op] of adminOperations(doc)) {
      const responses = op.responses as Record<string, { content?: Record<string, { schema: Json }> }>;
      const success = Object.entries(responses).filter(([status]) => status.startsWith('2'));
      assert.ok(success.length > 0, `${route} documents no 2xx response`);
      for (const [status, response] of success) {
        const schema = response.content?.['application/json']?.schema;
        if (!schema) untyped.push(`${route} → ${status}: no JSON schema`);
        else if (isUntyped(resolve(doc, schema)))
          untyped.push(`${route} → ${status}: ${JSON.stringify(schema)}`);
      }
    }
    assert.deepEqual(
      untyped,
      [],
      `admin routes answering an untyped record; give each a response schema with its fields (a zod object in the step that owns the result):\n  ${untyped.join('\n  ')}`,
    );
  });

  test('every route, called for real, answers a body that validates against its OpenAPI response schema', async () => {
    const doc = server.openapi as { paths: Record<string, Record<string, Json>>; components: Json };
    const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
    ajv.addSchema({ $id: 'openapi', components: doc.components });
    const operations = adminOperations(doc);
    const documented = new Set(operations.map(([route]) => route));
    const table = examples();
    for (const [route] of table)
      assert.ok(documented.has(route), `example for ${route}, which is not a route`);
    const withExample = new Set(table.map(([route]) => route));
    const calls: [string, Example, boolean][] = [
      ...table.map(([route, example]): [string, Example, boolean] => [route, example, true]),
      ...operations
        .filter(([route]) => !withExample.has(route))
        .map(([route]): [string, Example, boolean] => [route, {}, false]),
    ];
    const failures: string[] = [];
    let successes = 0;
    for (const [route, example, mustSucceed] of calls) {
      const e = route === 'DELETE /api/v1/keys/{id}' ? { params: { id: createdKey } } : example;
      const { status, body } = await call(server, route, e);
      if (route === 'POST /api/v1/keys' && status === 201) createdKey = (body as { id: string }).id;
      const op =
        doc.paths[route.slice(route.indexOf(' ') + 1)]![route.slice(0, route.indexOf(' ')).toLowerCase()]!;
      const responses = op.responses as Record<string, { content?: Record<string, { schema: Json }> }>;
      const documentedResponse = responses[String(status)];
      if (mustSucceed && (status < 200 || status >= 300)) {
        failures.push(`${route}: answered ${status} ${JSON.stringify(body).slice(0, 300)}`);
        continue;
      }
      if (!documentedResponse) {
        failures.push(`${route}: answered ${status}, which its OpenAPI entry does not document`);
        continue;
      }
      const schema = documentedResponse.content?.['application/json']?.schema;
      if (!schema) {
        failures.push(`${route}: ${status} has no JSON schema`);
        continue;
      }
      const validate = ajv.compile(
        JSON.parse(
          JSON.stringify(schema).replaceAll('"#/components/schemas/', '"openapi#/components/schemas/'),
        ),
      );
      if (!validate(body)) {
        const problems = (validate.errors ?? [])
          .slice(0, 5)
          .map((err) => `${err.instancePath || '/'} ${err.message} ${JSON.stringify(err.params)}`);
        failures.push(`${route} (${status}) does not match its schema:\n    ${problems.join('\n    ')}`);
        continue;
      }
      if (status >= 200 && status < 300) successes++;
    }
    assert.deepEqual(failures, []);
    assert.ok(successes >= table.length, `${successes} successful calls validated`);
  });
});

/** Every admin operation of the document as ["METHOD /path", operation]. */
function adminOperations(doc: { paths: Record<string, Record<string, Json>> }): [string, Json][] {
  return Object.entries(doc.paths)
    .filter(([path]) => path.startsWith('/api/v1/'))
    .flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]): [string, Json] => [`${method.toUpperCase()} ${path}`, op]),
    );
}

function resolve(doc: { components: Json }, schema: Json): Json {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  const name = ref.replace('#/components/schemas/', '');
  return resolve(doc, (doc.components.schemas as Record<string, Json>)[name]!);
}

/** An object schema that says nothing about its fields: any keys, any values. */
function isUntyped(schema: Json): boolean {
  if (Object.keys(schema).filter((k) => k !== 'description' && k !== 'id').length === 0) return true;
  if (schema.type !== 'object') return false;
  const hasFields = schema.properties && Object.keys(schema.properties as Json).length > 0;
  const values = schema.additionalProperties as Json | undefined;
  const valuesUntyped =
    values === undefined || (typeof values === 'object' && Object.keys(values).length === 0);
  return !hasFields && valuesUntyped;
}

async function call(
  server: TestServer,
  route: string,
  example: Example,
): Promise<{ status: number; body: unknown }> {
  const method = route.slice(0, route.indexOf(' '));
  const template = route.slice(route.indexOf(' ') + 1);
  const path = template.replace(/\{(\w+)\}/g, (_m, name: string) =>
    encodeURIComponent(example.params?.[name] ?? 'route-test-placeholder'),
  );
  const query = example.query ? `?${new URLSearchParams(example.query).toString()}` : '';
  const hasBody = method === 'POST';
  const r = await fetch(`${server.url}${path}${query}`, {
    method,
    headers: {
      authorization: `Bearer ${server.keys.admin}`,
      ...(hasBody ? { 'content-type': 'application/json' } : {}),
    },
    ...(hasBody ? { body: JSON.stringify(example.body ?? {}) } : {}),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}
