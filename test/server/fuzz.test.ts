import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { revokeApiKey } from '../../src/govern/api-keys.js';
import { tempDir } from '../helpers/temp.js';
import { randomCases } from '../helpers/thorough.js';
import { basicAuth, prng, startTestServer, type TestServer } from './helpers.js';

/**
 * Hostile input: at least 10,000 malformed or hostile requests from a seeded generator (set SEGFLOW_FUZZ_SEED to
 * replay another sequence). Every request must get the documented status, and every error a JSON body
 * {code, message} whose code names the problem; the server must never answer 5xx, crash or hang.
 */
const SEED = Number(process.env.SEGFLOW_FUZZ_SEED ?? 20260123);
const CASES = Number(process.env.SEGFLOW_FUZZ_CASES ?? randomCases(4_000, 10_000));
const CONCURRENCY = 64;
const BODY_TIMEOUT_MS = 800;

interface Expect {
  /** Allowed status → the error code (or codes) it must carry (undefined for 200). */
  status: Record<number, string | readonly string[] | undefined>;
  /** For 200: how many messages the server must report rejected (when known). */
  rejected?: number;
  received?: number;
}

interface Case {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer | string;
  /** Send over a raw socket in these pieces, with pauses (slow bodies, malformed HTTP, oversize bodies). */
  raw?: (Buffer | string | number)[];
  expect: Expect;
}

interface Reply {
  status: number;
  body: string;
}

/** A raw HTTP exchange: write the pieces (numbers are pauses in ms), read one response. Never rejects. */
function rawExchange(port: number, pieces: (Buffer | string | number)[], timeoutMs: number): Promise<Reply> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let done = false;
    const finish = (r: Reply) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ status: -1, body: 'timeout: no response' }), timeoutMs);
    const tryParse = (final: boolean) => {
      const text = data.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) {
        if (final)
          finish({ status: -2, body: `connection closed without a response: ${text.slice(0, 100)}` });
        return;
      }
      const head = text.slice(0, end);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? -3);
      const len = /\r\ncontent-length: (\d+)/i.exec(head);
      const bodyBytes = data.subarray(Buffer.byteLength(head, 'latin1') + 4);
      if (len && bodyBytes.length >= Number(len[1])) {
        finish({ status, body: bodyBytes.subarray(0, Number(len[1])).toString('utf8') });
      } else if (final) finish({ status, body: bodyBytes.toString('utf8') });
    };
    socket.on('data', (d) => {
      data = Buffer.concat([data, d]);
      tryParse(false);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => tryParse(true));
    socket.on('connect', async () => {
      for (const p of pieces) {
        if (done) return;
        if (typeof p === 'number') await new Promise((r) => setTimeout(r, p));
        else if (!socket.destroyed) socket.write(p);
      }
    });
  });
}

function httpText(c: Case, body: Buffer): Buffer {
  const head = [`${c.method} ${c.path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [k, v] of Object.entries(c.headers)) head.push(`${k}: ${v}`);
  const chunked = Object.keys(c.headers).some((k) => k.toLowerCase() === 'transfer-encoding');
  if (chunked) {
    const parts: Buffer[] = [];
    for (let at = 0; at < body.length; at += 16_384) {
      const chunk = body.subarray(at, at + 16_384);
      parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
    body = Buffer.concat(parts);
  } else head.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/** URL-safe text from anything (lone surrogates cannot be percent-encoded). */
function urlSafe(s: string): string {
  return encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '\ufffd'));
}

const KINDS: [string, number][] = [
  ['truncated', 8],
  ['envelope', 8],
  ['messages', 14],
  ['deep', 4],
  ['huge', 3],
  ['gzip', 8],
  ['auth', 12],
  ['unicode', 8],
  ['content-type', 5],
  ['routes', 5],
  ['admin', 6],
  ['slow', 1],
  ['http', 3],
  ['posthog', 5],
];

function generator(keys: TestServer['keys'], revoked: string) {
  const rnd = prng(SEED);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  let seq = 0;
  const goodMessage = () => ({
    type: 'track',
    event: 'Fuzzed',
    userId: `fuzz-${int(50)}`,
    messageId: `fz-${SEED}-${seq++}`,
    properties: { n: seq },
  });
  const badMessages: (() => unknown)[] = [
    () => ({ type: 5, userId: 'u', messageId: `fz-${seq++}` }),
    () => ({ type: 'track', userId: {}, event: 'x' }),
    () => ({ type: 'track', userId: 'u', event: 5 }),
    () => ({ type: 'track', userId: 'u', event: '' }),
    () => ({ type: 'track', userId: 'u', event: 'x', properties: 'str' }),
    () => ({ type: 'identify', userId: 'u', traits: [1, 2] }),
    () => ({
      type: 'track',
      userId: 'u',
      event: 'x',
      timestamp: pick(['yesterday', '2026-13-45', '', 'NaN']),
    }),
    () => ({ type: 'track', userId: 'u', event: 'x', timestamp: 12345 }),
    () => ({ type: 'alias', userId: 'u' }),
    () => ({ type: 'group', userId: 'u' }),
    () => pick([42, null, 'str', [1, 2], true, 0]),
    () => ({}),
    () => ({ type: 'track', event: 'x' }),
    () => ({ type: 'track', event: 'x', userId: pick(['null', 'undefined', '0', 'anonymous', ' NULL ']) }),
    () => ({ type: 'page', userId: 'u', name: 7 }),
    () => ({ type: 'track', userId: 'u', event: 'x', context: 'c' }),
    () => ({ type: 'screen', anonymousId: [1], name: 'S' }),
    () => ({ type: 'track', userId: 'u', event: 'x', messageId: { id: 1 } }),
  ];
  const weird = [
    '\ud800',
    '\udfff',
    '\u0000',
    '\uffff',
    '\ufeff',
    '\u202e',
    '\u200b',
    '😀',
    'ℌ𝔢𝔩𝔩𝔬',
    'é',
    'é',
    '\\',
    '"',
    "'; DROP TABLE events; --",
    '%s%n',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a hostile string, meant literally
    '${x}',
    '__proto__',
    'constructor',
    '\n\r\t',
    '日本語',
    'ﷺ',
  ];
  const weirdText = () => Array.from({ length: 1 + int(6) }, () => pick(weird)).join('');
  const collector = ['/v1/batch', '/v1/import', '/v1/b'];
  const auth = () => ({ authorization: basicAuth(keys.write) });
  const body = (v: unknown) => JSON.stringify(v);

  return (): Case => {
    let roll = rnd() * KINDS.reduce((a, [, w]) => a + w, 0);
    const kind =
      KINDS.find(([, w]) => {
        roll -= w;
        return roll < 0;
      })?.[0] ?? 'messages';
    const path = pick(collector);
    switch (kind) {
      case 'truncated': {
        const text = body({ batch: Array.from({ length: 1 + int(5) }, goodMessage), writeKey: keys.write });
        return {
          kind,
          method: 'POST',
          path,
          headers: {},
          body: text.slice(0, int(text.length)),
          expect: { status: { 400: 'BODY_INVALID' } },
        };
      }
      case 'envelope': {
        const v = pick<unknown>([
          { batch: 'x' },
          { batch: 7 },
          { batch: { 0: {} } },
          { batch: null },
          { nobatch: [] },
          [goodMessage()],
          42,
          'text',
          null,
          true,
          { batch: [], writeKey: 7 },
          { batch: [], sentAt: 5 },
          { batch: [], context: 'c' },
        ]);
        const single = rnd() < 0.3;
        const bodyIsObject =
          typeof v === 'object' &&
          v !== null &&
          !Array.isArray(v) &&
          ['string', 'undefined'].includes(typeof (v as { writeKey?: unknown }).writeKey);
        return {
          kind,
          method: 'POST',
          path: single ? pick(['/v1/track', '/v1/t', '/v1/identify', '/v1/a']) : path,
          headers: auth(),
          body: body(v),
          // A single-message endpoint takes any object (its messages are validated by the pipeline).
          expect:
            single && bodyIsObject ? { status: { 200: undefined } } : { status: { 400: 'BODY_INVALID' } },
        };
      }
      case 'messages': {
        const n = 1 + int(30);
        let bad = 0;
        const batch = Array.from({ length: n }, () => {
          if (rnd() < 0.4) {
            bad++;
            return pick(badMessages)();
          }
          return goodMessage();
        });
        if (rnd() < 0.1) {
          const tooMany = 2501 + int(200);
          return {
            kind: 'batch-count',
            method: 'POST',
            path,
            headers: auth(),
            body: body({ batch: Array.from({ length: tooMany }, () => ({})) }),
            expect: { status: { 400: 'BATCH_TOO_LARGE' } },
          };
        }
        return {
          kind,
          method: 'POST',
          path,
          headers: auth(),
          body: body({ batch }),
          expect: { status: { 200: undefined }, rejected: bad, received: n },
        };
      }
      case 'deep': {
        // Nesting inside a message: stored (or rejected over 32 KB) when it serializes, else 400 BODY_TOO_DEEP.
        const depth = rnd() < 0.5 ? 10 + int(9000) : 20_000 + int(200_000);
        const open = pick(['[', '{"a":']);
        const close = open === '[' ? ']' : '}';
        const inner = `${open.repeat(depth)}1${close.repeat(depth)}`;
        // The stored message is the batch element plus receivedAt: about inner + 130 characters.
        const size = inner.length + 130;
        if (rnd() < 0.2) {
          // The envelope itself nested.
          const text = `${'['.repeat(depth)}${']'.repeat(depth)}`;
          return {
            kind,
            method: 'POST',
            path,
            headers: auth(),
            raw: [],
            body: text,
            expect: {
              status: text.length > 512_000 ? { 400: 'BODY_TOO_LARGE' } : { 400: 'BODY_INVALID' },
            },
          };
        }
        const text = `{"batch":[{"type":"track","event":"deep","userId":"d","properties":{"x":${inner}}}]}`;
        return {
          kind,
          method: 'POST',
          path,
          headers: auth(),
          raw: [],
          body: text,
          expect:
            text.length > 512_000
              ? { status: { 400: 'BODY_TOO_LARGE' } }
              : {
                  status: { 200: undefined, 400: 'BODY_TOO_DEEP' },
                  rejected: Math.abs(size - 32_768) < 300 ? undefined : size > 32_768 ? 1 : 0,
                  received: 1,
                },
        };
      }
      case 'huge': {
        const big = rnd() < 0.5;
        const len = big ? 530_000 + int(400_000) : 40_000 + int(400_000);
        const text = body({
          batch: [{ type: 'track', event: 'big', userId: 'h', properties: { s: 'x'.repeat(len) } }],
        });
        const declared = rnd() < 0.3 && big;
        return {
          kind,
          method: 'POST',
          path,
          headers: { ...auth(), ...(declared ? {} : { 'transfer-encoding': 'chunked' }) },
          raw: [],
          body: text,
          expect: big
            ? { status: { 400: 'BODY_TOO_LARGE' } }
            : { status: { 200: undefined }, rejected: 1, received: 1 },
        };
      }
      case 'gzip': {
        const good = body({ batch: [goodMessage()] });
        const variant = int(6);
        const gz = gzipSync(good);
        const payloads: [Buffer, Expect, string][] = [
          [
            Buffer.from(Array.from({ length: 1 + int(300) }, () => int(256))),
            { status: { 400: 'BODY_GZIP_INVALID' } },
            'gzip',
          ],
          [gz.subarray(0, Math.max(1, int(gz.length - 1))), { status: { 400: 'BODY_GZIP_INVALID' } }, 'gzip'],
          [gzipSync(Buffer.alloc(2_000_000 + int(5_000_000))), { status: { 400: 'BODY_TOO_LARGE' } }, 'gzip'],
          [gzipSync('{"batch": [ nope'), { status: { 400: 'BODY_INVALID' } }, 'gzip'],
          [gz, { status: { 200: undefined }, rejected: 0, received: 1 }, pick(['gzip', 'x-gzip', ' GZIP'])],
          [
            Buffer.from(good),
            { status: { 415: 'BODY_ENCODING_UNSUPPORTED' } },
            pick(['br', 'compress', 'zstd', 'gzip, br']),
          ],
        ];
        const [payload, expect, encoding] = payloads[variant]!;
        return {
          kind,
          method: 'POST',
          path,
          headers: { ...auth(), 'content-encoding': encoding },
          body: payload,
          expect,
        };
      }
      case 'auth': {
        const good = body({ batch: [goodMessage()] });
        const variants: [Record<string, string>, string, Expect][] = [
          [
            { authorization: basicAuth(`sf_write_${'A'.repeat(43)}`) },
            good,
            { status: { 401: 'AUTH_INVALID' } },
          ],
          [{ authorization: basicAuth(revoked) }, good, { status: { 401: 'AUTH_INVALID' } }],
          [{ authorization: basicAuth(keys.read) }, good, { status: { 403: 'AUTH_FORBIDDEN' } }],
          [{ authorization: 'Basic' }, good, { status: { 401: 'AUTH_INVALID' } }],
          [
            { authorization: `Basic ${'%%%'.repeat(int(10) + 1)}` },
            good,
            { status: { 401: 'AUTH_INVALID' } },
          ],
          [{ authorization: `Digest ${keys.write}` }, good, { status: { 401: 'AUTH_INVALID' } }],
          [{ authorization: `Bearer oauth-${int(1e9)}` }, good, { status: { 401: 'AUTH_INVALID' } }],
          [
            { authorization: `Bearer oauth-${int(1e9)}` },
            body({ batch: [goodMessage()], writeKey: keys.write }),
            { status: { 200: undefined }, rejected: 0, received: 1 },
          ],
          [{}, good, { status: { 401: 'AUTH_MISSING' } }],
          [{}, body({ batch: [goodMessage()], writeKey: weirdText() }), { status: { 401: 'AUTH_INVALID' } }],
          [
            {},
            body({ batch: [goodMessage()], writeKey: keys.admin }),
            { status: { 200: undefined }, rejected: 0, received: 1 },
          ],
          [
            {},
            body({ batch: [{ ...goodMessage(), writeKey: keys.write }] }),
            { status: { 200: undefined }, rejected: 0, received: 1 },
          ],
          [{ authorization: basicAuth('x'.repeat(5000)) }, good, { status: { 401: 'AUTH_INVALID' } }],
        ];
        const [headers, b, expect] = pick(variants);
        return { kind, method: 'POST', path, headers, body: b, expect };
      }
      case 'unicode': {
        const n = 1 + int(8);
        const batch = Array.from({ length: n }, () => ({
          type: 'track',
          event: weirdText(),
          userId: `uni-${weirdText()}`,
          messageId: `fz-u-${seq++}-${weirdText()}`,
          properties: { [weirdText()]: weirdText(), __proto__x: { [weirdText()]: [weirdText()] } },
          context: { locale: weirdText() },
        }));
        // Sometimes raw bytes that are not UTF-8 inside a string, or a byte-order mark in front.
        let buf = Buffer.from(body({ batch }), 'utf8');
        if (rnd() < 0.3) {
          const at = buf.indexOf('"event":"') + 9;
          buf = Buffer.concat([
            buf.subarray(0, at),
            Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80]),
            buf.subarray(at),
          ]);
        }
        if (rnd() < 0.2) buf = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), buf]);
        return {
          kind,
          method: 'POST',
          path,
          headers: auth(),
          body: buf,
          expect: { status: { 200: undefined }, received: n },
        };
      }
      case 'content-type': {
        const ct = pick([
          'application/json',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          ';;;',
          'application/json; charset=latin1',
          '*/*',
          'garbage/💥'.replace('💥', 'x'),
          '',
        ]);
        return {
          kind,
          method: 'POST',
          path: pick([...collector, '/v1/track', '/v1/t']),
          headers: { ...auth(), 'content-type': ct },
          body: body({ ...goodMessage(), batch: [goodMessage()] }),
          expect: { status: { 200: undefined }, rejected: 0 },
        };
      }
      case 'routes': {
        const variants: [string, string, Expect][] = [
          ['GET', path, { status: { 404: 'ROUTE_NOT_FOUND' } }],
          ['PUT', '/v1/track', { status: { 404: 'ROUTE_NOT_FOUND' } }],
          ['POST', `/v1/${weirdText().replace(/[^a-z]/g, 'q')}x`, { status: { 404: 'ROUTE_NOT_FOUND' } }],
          ['POST', '/v1/%zz', { status: { 400: 'REQUEST_INVALID' } }],
          ['GET', `/v1/projects/${urlSafe(weirdText())}/settings`, { status: { 401: 'AUTH_INVALID' } }],
          ['GET', `/v1/projects/${keys.read}/settings`, { status: { 403: 'AUTH_FORBIDDEN' } }],
          ['DELETE', '/api/v1/persons/x', { status: { 404: 'ROUTE_NOT_FOUND' } }],
        ];
        const [method, p, expect] = pick(variants);
        return { kind, method, path: p, headers: auth(), body: method === 'GET' ? undefined : '{}', expect };
      }
      case 'admin': {
        const id = urlSafe(weirdText());
        const variants: [string, Record<string, string>, Expect][] = [
          [
            `/api/v1/persons/${id}`,
            { authorization: `Bearer ${keys.read}` },
            { status: { 404: 'NOT_FOUND' } },
          ],
          [`/api/v1/persons/${id}`, {}, { status: { 401: 'AUTH_MISSING' } }],
          [
            `/api/v1/persons/${id}`,
            { authorization: `Bearer ${keys.write}` },
            { status: { 403: 'AUTH_FORBIDDEN' } },
          ],
          [
            `/api/v1/persons/${id}`,
            { authorization: `Bearer ${weirdText().replace(/[^\x21-\x7e]/g, 'z')}z` },
            { status: { 401: 'AUTH_INVALID' } },
          ],
          [
            `/api/v1/persons/x?events=${pick(['-1', 'abc', '1e9', '5000'])}`,
            { authorization: `Bearer ${keys.read}` },
            { status: { 400: 'REQUEST_INVALID' } },
          ],
          [
            `/api/v1/persons/${'a'.repeat(1200)}`,
            { authorization: `Bearer ${keys.read}` },
            { status: { 414: 'REQUEST_INVALID' } },
          ],
          ['/api/v1/keys', { authorization: `Bearer ${keys.read}` }, { status: { 403: 'AUTH_FORBIDDEN' } }],
        ];
        const [p, headers, expect] = pick(variants);
        return { kind, method: 'GET', path: p, headers, expect };
      }
      case 'slow': {
        // Headers, then a body that trickles in (or never completes): answered 408 after the body deadline.
        const text = body({ batch: [goodMessage()], writeKey: keys.write });
        const pieces: (Buffer | string | number)[] = [
          `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${text.length + (rnd() < 0.5 ? 100 : 0)}\r\n\r\n`,
        ];
        for (let i = 0; i < 6; i++) pieces.push(text.slice(i * 5, i * 5 + 5), 250);
        return {
          kind,
          method: 'POST',
          path,
          headers: {},
          raw: pieces,
          expect: { status: { 408: 'BODY_TIMEOUT' } },
        };
      }
      case 'http': {
        const garbage = pick([
          'GARBAGE\r\n\r\n',
          `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}`,
          `POST ${path} HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(20_000)}\r\n\r\n`,
          `POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
          `POST ${path} HTTP/9.9\r\n\r\n`,
          '\u0000\u0001\u0002\r\n\r\n',
        ]);
        return {
          kind,
          method: 'POST',
          path,
          headers: {},
          raw: [garbage],
          expect: {
            status: {
              400: ['REQUEST_INVALID', 'BODY_INVALID'],
              431: 'REQUEST_INVALID',
              505: 'REQUEST_INVALID',
            },
          },
        };
      }
      case 'posthog': {
        const variants: [unknown, Expect][] = [
          [{ api_key: keys.write, batch: 'x' }, { status: { 400: 'BODY_INVALID' } }],
          [{ api_key: keys.write }, { status: { 400: 'BODY_INVALID' } }],
          [{ batch: [{ event: 'e', distinct_id: 'p' }] }, { status: { 401: 'AUTH_MISSING' } }],
          [
            { api_key: 'nope-nope-nope-nope', batch: [{ event: 'e', distinct_id: 'p' }] },
            { status: { 401: 'AUTH_INVALID' } },
          ],
          [
            {
              api_key: keys.write,
              batch: [{ event: 'e' }, 7, { event: '$identify', distinct_id: 'p', uuid: `fz-ph-${seq++}` }],
            },
            { status: { 200: undefined }, rejected: 2, received: 3 },
          ],
          [
            {
              api_key: keys.write,
              batch: [{ event: 'big', distinct_id: 'p', properties: { s: 'x'.repeat(600_000) } }],
            },
            { status: { 413: 'BODY_TOO_LARGE' } },
          ],
        ];
        const [v, expect] = pick(variants);
        return { kind, method: 'POST', path: '/batch/', headers: {}, raw: [], body: body(v), expect };
      }
      default:
        throw new Error(`unknown kind ${kind}`);
    }
  };
}

async function exchange(port: number, url: string, c: Case): Promise<Reply> {
  if (c.raw) {
    const pieces = c.raw.length > 0 ? c.raw : [httpText(c, Buffer.from(c.body ?? ''))];
    return rawExchange(port, pieces, 30_000);
  }
  try {
    const r = await fetch(url + c.path, {
      method: c.method,
      headers: c.headers,
      body: typeof c.body === 'string' || c.body === undefined ? c.body : new Uint8Array(c.body),
      signal: AbortSignal.timeout(30_000),
    });
    return { status: r.status, body: await r.text() };
  } catch (e) {
    return { status: -4, body: `fetch failed: ${(e as Error).message} ${String((e as Error).cause ?? '')}` };
  }
}

describe('fuzz: malformed and hostile requests', () => {
  let server: TestServer;
  let revoked = '';
  const dir = tempDir('segflow-fuzz-');
  before(async () => {
    // On a database file, as `segflow serve` runs: plainly valid batches go through the intake log, the rest commit
    // to the warehouse directly, so both paths face the fuzz.
    server = await startTestServer({
      dbPath: join(dir, 'fuzz.duckdb'),
      limits: { bodyTimeoutMs: BODY_TIMEOUT_MS },
    });
    const { createApiKey } = await import('../../src/govern/api-keys.js');
    const k = await createApiKey(server.wh, 'write');
    await revokeApiKey(server.wh, k.id);
    revoked = k.key;
  });
  after(() => server.close());

  test(`${CASES} requests (seed ${SEED}): documented statuses, JSON errors naming the problem, no crash or hang`, async () => {
    const next = generator(server.keys, revoked);
    const port = Number(new URL(server.url).port);
    const failures: string[] = [];
    const byKind = new Map<string, number>();
    let reportedRejected = 0;
    let reportedAccepted = 0;
    let i = 0;
    const worker = async () => {
      // Cases are drawn in order from one seeded generator as workers free up: the same seed, the same cases.
      while (i < CASES) {
        const n = i++;
        const c = next();
        byKind.set(c.kind, (byKind.get(c.kind) ?? 0) + 1);
        const r = await exchange(port, server.url, c);
        const where = `case ${n} (${c.kind} ${c.method} ${c.path.slice(0, 60)})`;
        if (!(r.status in c.expect.status)) {
          failures.push(
            `${where}: status ${r.status}, expected ${Object.keys(c.expect.status).join('|')}: ${r.body.slice(0, 200)}`,
          );
          continue;
        }
        let json: Record<string, unknown>;
        try {
          json = JSON.parse(r.body) as Record<string, unknown>;
        } catch {
          failures.push(`${where}: status ${r.status} with a body that is not JSON: ${r.body.slice(0, 100)}`);
          continue;
        }
        const code = c.expect.status[r.status];
        if (r.status === 200) {
          if (json.success !== true) failures.push(`${where}: 200 without success: ${r.body.slice(0, 200)}`);
          const { received, accepted, rejected } = json as {
            received: number;
            accepted: number;
            rejected: number;
          };
          if (c.expect.received !== undefined && received !== c.expect.received) {
            failures.push(`${where}: received ${received}, expected ${c.expect.received}`);
          }
          if (c.expect.rejected !== undefined && rejected !== c.expect.rejected) {
            failures.push(
              `${where}: rejected ${rejected}, expected ${c.expect.rejected}: ${r.body.slice(0, 300)}`,
            );
          }
          if (accepted + rejected !== received) failures.push(`${where}: counts do not add up: ${r.body}`);
          reportedRejected += rejected;
          reportedAccepted += accepted;
        } else {
          const codes = typeof code === 'string' ? [code] : (code ?? []);
          if (!codes.includes(String(json.code)))
            failures.push(`${where}: code ${String(json.code)}, expected ${code}: ${r.body.slice(0, 200)}`);
          if (typeof json.message !== 'string' || json.message.length < 10) {
            failures.push(`${where}: error without a message: ${r.body.slice(0, 200)}`);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    if (failures.length) {
      const kinds = new Map<string, number>();
      for (const f of failures) {
        const k = /\((\S+)/.exec(f)?.[1] ?? '?';
        kinds.set(k, (kinds.get(k) ?? 0) + 1);
      }
      const firstOfEach = [...kinds.keys()].map((k) => failures.find((f) => f.includes(`(${k} `)));
      assert.fail(
        `${failures.length} failures by kind ${JSON.stringify([...kinds])}:\n${firstOfEach.join('\n')}`,
      );
    }
    assert.ok(byKind.size >= KINDS.length, `every kind of case ran: ${[...byKind.keys()].join(', ')}`);

    // Still alive and healthy, and what it acknowledged is what it stored (once the intake log is loaded).
    await server.committer.settled();
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    const [rej] = await server.wh.query<{ n: number }>('SELECT count(*) AS n FROM rejected_events');
    assert.equal(rej!.n, reportedRejected, 'every reported reject is kept in rejected_events');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const m = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1]);
    assert.equal(
      m('segflow_events_accepted_total') + m('segflow_events_deduplicated_total'),
      reportedAccepted,
    );
    assert.doesNotMatch(metrics, /status="5\d\d"/, 'no 5xx answered');
  });
});
