import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { modelConfig } from '../../src/model/model-config.js';
import { refreshFeatures } from '../../src/model/refresh-features.js';
import { SegmentDefinition } from '../../src/segment/definition.js';
import { refreshSegments } from '../../src/segment/memberships.js';
import { basicAuth, startTestServer, storedEvents, type TestServer } from './helpers.js';

/** A stream that keeps every log line the server writes. */
function logSink(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  let pending = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      pending += String(chunk);
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      lines.push(...parts.filter((l) => l.trim() !== ''));
      done();
    },
  });
  return { stream, lines };
}

async function post(
  server: TestServer,
  path: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${server.url}${path}`, {
    method: 'POST',
    body: typeof body === 'string' ? body : new Uint8Array(body),
    headers,
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

describe('collector paths, credentials and the admin API', () => {
  let server: TestServer;
  const logs = logSink();
  const CANARY_TRAIT = 'canary-trait-7f3a91';

  before(async () => {
    server = await startTestServer({ logger: { level: 'debug', stream: logs.stream } });
  });
  after(() => server.close());

  test('every way SDKs send a write key and a body is accepted', async () => {
    const { write } = server.keys;
    const msg = (id: string, extra: object = {}) => ({
      type: 'track',
      event: 'Path Tested',
      userId: 'path-user',
      messageId: id,
      timestamp: '2026-03-01T10:00:00Z',
      ...extra,
    });
    const cases: [string, string, string | Buffer, Record<string, string>][] = [
      [
        'basic auth, JSON',
        '/v1/batch',
        JSON.stringify({ batch: [msg('p-basic')] }),
        { authorization: basicAuth(write), 'content-type': 'application/json' },
      ],
      ['writeKey in body', '/v1/track', JSON.stringify({ ...msg('p-body'), writeKey: write }), {}],
      // Bearer with a token that is not a segflow key: the writeKey in the body authenticates.
      [
        'bearer + writeKey in body',
        '/v1/import',
        JSON.stringify({ writeKey: write, batch: [msg('p-bearer')] }),
        { authorization: 'Bearer some-oauth-token-value' },
      ],
      // analytics.js short forms as text/plain, with the writeKey inside each message of /v1/b.
      [
        'analytics.js /v1/t as text/plain',
        '/v1/t',
        JSON.stringify({ ...msg('p-short'), writeKey: write }),
        { 'content-type': 'text/plain' },
      ],
      [
        'analytics.js /v1/b',
        '/v1/b',
        JSON.stringify({
          batch: [
            { ...msg('p-b1'), writeKey: write },
            { ...msg('p-b2'), writeKey: write },
          ],
        }),
        { 'content-type': 'text/plain' },
      ],
      [
        'JSON sent as form-urlencoded',
        '/v1/batch',
        JSON.stringify({ writeKey: write, batch: [msg('p-form')] }),
        { 'content-type': 'application/x-www-form-urlencoded' },
      ],
      [
        'gzip',
        '/v1/batch',
        gzipSync(JSON.stringify({ batch: [msg('p-gzip')] })),
        { authorization: basicAuth(write), 'content-encoding': 'gzip' },
      ],
    ];
    for (const [what, path, body, headers] of cases) {
      const r = await post(server, path, body, headers);
      assert.equal(r.status, 200, `${what}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.rejected, 0, what);
    }
    const stored = await storedEvents(server.wh);
    for (const id of ['p-basic', 'p-body', 'p-bearer', 'p-short', 'p-b1', 'p-b2', 'p-form', 'p-gzip']) {
      assert.equal(stored.get(id)?.event, 'Path Tested', `${id} stored`);
    }
  });

  test('invalid events inside a valid request are stored as rejects and counted in the 200 answer', async () => {
    const r = await post(
      server,
      '/v1/batch',
      JSON.stringify({
        batch: [
          { type: 'track', userId: 'u-rej', messageId: 'rej-no-event' },
          { type: 'track', event: 'Fine', userId: 'u-rej', messageId: 'rej-fine' },
          { type: 'teleport', userId: 'u-rej', messageId: 'rej-type' },
        ],
      }),
      { authorization: basicAuth(server.keys.write) },
    );
    assert.equal(r.status, 200);
    assert.deepEqual([r.json.received, r.json.accepted, r.json.rejected], [3, 1, 2]);
    const problems = r.json.problems as { index: number; messageId: string; problems: string[] }[];
    assert.deepEqual(
      problems.map((p) => [p.index, p.messageId]),
      [
        [0, 'rej-no-event'],
        [2, 'rej-type'],
      ],
    );
    assert.match(problems[0]!.problems.join(' '), /\$\.event/);
    const rows = await server.wh.query<{ message_id: string; source: string }>(
      "SELECT message_id, source FROM rejected_events WHERE message_id LIKE 'rej-%' ORDER BY message_id",
    );
    assert.deepEqual(
      rows.map((x) => [x.message_id, x.source]),
      [
        ['rej-no-event', 'collector'],
        ['rej-type', 'collector'],
      ],
    );
  });

  test('unknown and revoked keys get 401; a key revoked through the API stops working at once', async () => {
    const admin = { authorization: `Bearer ${server.keys.admin}`, 'content-type': 'application/json' };
    const created = await post(server, '/api/v1/keys', JSON.stringify({ role: 'write', name: 'web' }), admin);
    assert.equal(created.status, 201);
    const key = created.json.key as string;
    const id = created.json.id as string;
    const send = (messageId: string) =>
      post(server, '/v1/track', JSON.stringify({ event: 'K', userId: 'k-user', messageId }), {
        authorization: basicAuth(key),
      });
    assert.equal((await send('k-1')).status, 200);

    const listed = await fetch(`${server.url}/api/v1/keys`, { headers: admin });
    const keys = ((await listed.json()) as { keys: { id: string; prefix: string }[] }).keys;
    const mine = keys.find((k) => k.id === id);
    assert.ok(mine, 'the new key is listed');
    assert.ok(!JSON.stringify(keys).includes(key), 'the list never shows a key itself');

    const revoked = await fetch(`${server.url}/api/v1/keys/${id}`, { method: 'DELETE', headers: admin });
    assert.equal(revoked.status, 200);
    const after = await send('k-2');
    assert.equal(after.status, 401);
    assert.equal(after.json.code, 'AUTH_INVALID');
    const unknown = await post(
      server,
      '/v1/track',
      JSON.stringify({ event: 'K', userId: 'k', writeKey: 'sf_write_not-a-real-key-at-all' }),
    );
    assert.equal(unknown.status, 401);
    assert.equal((await storedEvents(server.wh)).has('k-2'), false);
  });

  test('GET /api/v1/persons/:id finds a person by any identifier, with traits, consent and recent events', async () => {
    const w = { authorization: basicAuth(server.keys.write) };
    const r = await post(
      server,
      '/v1/batch',
      JSON.stringify({
        batch: [
          {
            type: 'page',
            anonymousId: 'anon-api',
            name: 'Pricing',
            messageId: 'api-1',
            timestamp: '2026-03-02T09:00:00Z',
          },
          {
            type: 'identify',
            anonymousId: 'anon-api',
            userId: 'user-api',
            traits: { plan: 'pro', favourite: CANARY_TRAIT },
            context: { consent: { categoryPreferences: { Advertising: false, Analytics: true } } },
            messageId: 'api-2',
            timestamp: '2026-03-02T09:01:00Z',
          },
          {
            type: 'track',
            userId: 'user-api',
            event: 'Order Completed',
            properties: { revenue: 12.5 },
            messageId: 'api-3',
            timestamp: '2026-03-02T09:05:00Z',
          },
        ],
      }),
      w,
    );
    assert.equal(r.status, 200);
    const res = await fetch(`${server.url}/api/v1/persons/anon-api?events=2`, {
      headers: { authorization: `Bearer ${server.keys.read}` },
    });
    assert.equal(res.status, 200);
    const person = (await res.json()) as {
      personId: string;
      identifiers: { identifier: string; isUser: boolean }[];
      traits: Record<string, unknown>;
      consent: Record<string, boolean>;
      recentEvents: { messageId: string }[];
      firstSeen: string;
    };
    assert.equal(person.personId, 'user-api');
    assert.deepEqual(
      person.identifiers.map((i) => [i.identifier, i.isUser]),
      [
        ['user-api', true],
        ['anon-api', false],
      ],
    );
    assert.deepEqual(person.traits, { plan: 'pro', favourite: CANARY_TRAIT });
    assert.deepEqual(person.consent, { Advertising: false, Analytics: true });
    assert.deepEqual(
      person.recentEvents.map((e) => e.messageId),
      ['api-3', 'api-2'],
    );
    assert.equal(person.firstSeen, '2026-03-02T09:00:00.000Z');
  });

  test('features, memberships and the RFM report through the admin API', async () => {
    const asOf = new Date('2026-03-03T00:00:00Z');
    await refreshFeatures(server.wh, modelConfig(), { asOf });
    const buyers = SegmentDefinition.parse({
      name: 'buyers',
      where: { performed: { event: 'Order Completed' } },
    });
    await refreshSegments(server.wh, [{ definition: buyers }], { asOf });
    const get = async (path: string) => {
      const r = await fetch(`${server.url}${path}`, {
        headers: { authorization: `Bearer ${server.keys.read}` },
      });
      assert.equal(r.status, 200, path);
      return (await r.json()) as Record<string, unknown>;
    };
    const features = await get('/api/v1/persons/anon-api/features');
    assert.deepEqual([features.person_id, features.rfm_monetary_total], ['user-api', 12.5]);
    const members = await get('/api/v1/segments/buyers/members');
    assert.ok((members.members as { personId: string }[]).some((m) => m.personId === 'user-api'));
    const history = await get('/api/v1/persons/user-api/segments');
    assert.deepEqual(history.memberships, [
      { segment: 'buyers', enteredAt: asOf.toISOString(), exitedAt: null },
    ]);
    const rfm = await get('/api/v1/reports/rfm');
    assert.ok((rfm.customers as number) >= 1);
  });

  test('the statistics calculators answer through the admin API with the published vectors', async () => {
    const headers = { authorization: `Bearer ${server.keys.read}`, 'content-type': 'application/json' };
    const lift = await post(
      server,
      '/api/v1/stats/lift',
      JSON.stringify({
        control: { n: 3407, sum: 1396.87, sumSquares: 52377.9767 },
        treatment: { n: 3461, sum: 2422.7, sumSquares: 134698.29 },
      }),
      headers,
    );
    assert.equal(lift.status, 200, JSON.stringify(lift.json));
    const relative = lift.json.relative as { estimate: number; pValue: number };
    assert.equal(relative.estimate.toFixed(5), '0.70732');
    assert.equal(relative.pValue.toFixed(5), '0.06191');
    const srm = await post(server, '/api/v1/stats/srm', JSON.stringify({ counts: [1000, 1100] }), headers);
    assert.equal(srm.status, 200);
    assert.equal((srm.json.pValue as number).toFixed(4), '0.0291');
    const bad = await post(server, '/api/v1/stats/srm', JSON.stringify({ counts: [5] }), headers);
    assert.equal(bad.status, 400);
  });

  test('the OpenAPI document lists every admin route with its role, and the error shape', async () => {
    const doc = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<
        string,
        Record<string, { 'x-segflow-role'?: string; responses: Record<string, unknown> }>
      >;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    assert.match(doc.openapi, /^3\.1/);
    assert.equal(doc.paths['/api/v1/persons/{id}']?.get?.['x-segflow-role'], 'read');
    assert.equal(doc.paths['/api/v1/keys']?.post?.['x-segflow-role'], 'admin');
    assert.equal(doc.paths['/api/v1/keys/{id}']?.delete?.['x-segflow-role'], 'admin');
    assert.ok(doc.paths['/v1/batch']?.post, 'the collector is documented too');
    assert.deepEqual(Object.keys(doc.components.schemas.Error?.properties ?? {}).sort(), [
      'code',
      'hint',
      'message',
    ]);
    assert.ok(doc.components.schemas.Person, 'Person schema');
  });

  test('analytics.js can load its settings from segflow', async () => {
    const r = await fetch(`${server.url}/v1/projects/${server.keys.write}/settings`);
    assert.equal(r.status, 200);
    const settings = (await r.json()) as {
      integrations: { 'Segment.io': { apiHost: string; apiKey: string } };
    };
    assert.equal(settings.integrations['Segment.io'].apiHost, `${new URL(server.url).host}/v1`);
  });

  test('metrics count what was accepted and rejected; logs never hold a key or a trait', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
    const [stored] = await server.wh.query<{ n: number }>('SELECT count(*)::INTEGER AS n FROM events');
    assert.equal(value('segflow_events_accepted_total'), stored!.n);
    const [rejected] = await server.wh.query<{ n: number }>(
      'SELECT count(*)::INTEGER AS n FROM rejected_events',
    );
    assert.equal(value('segflow_events_rejected_total'), rejected!.n);
    assert.match(text, /segflow_commit_duration_seconds_bucket\{le="\+Inf"\} \d+/);

    assert.ok(logs.lines.length > 10, 'the server logged its requests');
    for (const line of logs.lines) {
      JSON.parse(line); // structured: every line is one JSON object
      for (const secret of [
        server.keys.write,
        server.keys.read,
        server.keys.admin,
        CANARY_TRAIT,
        'anon-api',
      ]) {
        assert.ok(!line.includes(secret), `a log line holds '${secret.slice(0, 12)}…': ${line}`);
      }
    }
  });
});
