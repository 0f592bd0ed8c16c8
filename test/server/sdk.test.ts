import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Analytics } from '@segment/analytics-node';
import { PostHog } from 'posthog-node';
import { tempDir } from '../helpers/temp.js';
import { startTestServer, storedEvents, type TestServer } from './helpers.js';

/**
 * The real SDKs, unmodified, pointed at a real segflow server by their `host` option: every event they send lands
 * exactly once, with the right person (identity merged through identify / alias), type, timestamp and properties.
 */
// Both ways a group becomes durable: the intake log (a database file, as `segflow serve` runs) and a warehouse commit
// (an in-memory database, or messages the SQL checks must judge).
for (const mode of ['intake log', 'warehouse commit'] as const)
  describe(`Segment and PostHog SDKs against segflow (${mode})`, () => {
    let server: TestServer;
    // Made here, not in before(): the directory's after() must run when the suite ends, not when the hook does.
    const dir = tempDir('segflow-sdk-');
    before(async () => {
      server = await startTestServer(mode === 'intake log' ? { dbPath: join(dir, 'sdk.duckdb') } : {});
    });
    after(() => server.close());

    test('@segment/analytics-node: track, identify, page, screen, group, alias land exactly once', async () => {
      const analytics = new Analytics({
        writeKey: server.keys.write,
        host: server.url,
        flushAt: 7,
        flushInterval: 50,
        maxRetries: 3,
      });
      const failures: unknown[] = [];
      analytics.on('error', (e) => failures.push(e));
      const t0 = Date.UTC(2026, 0, 5, 9, 0, 0);
      const at = (i: number) => new Date(t0 + i * 60_000);
      const expected = new Map<
        string,
        { type: string; person: string; ts: Date; props?: object; name?: string }
      >();

      // 40 people: each browses anonymously, identifies (merging anonymous and user ids), then acts as the user.
      for (let p = 0; p < 40; p++) {
        const anon = `anon-${p}`;
        const user = `user-${p}`;
        const props = { sku: `sku-${p}`, price: p + 0.5, tags: ['a', 'b'], nested: { deep: { n: p } } };
        analytics.page({
          anonymousId: anon,
          name: 'Home',
          properties: { path: '/' },
          timestamp: at(p * 10),
          messageId: `seg-${p}-page`,
        });
        expected.set(`seg-${p}-page`, {
          type: 'page',
          person: user,
          ts: at(p * 10),
          props: { path: '/' },
          name: 'Home',
        });
        analytics.track({
          anonymousId: anon,
          event: 'Product Viewed',
          properties: props,
          timestamp: at(p * 10 + 1),
          messageId: `seg-${p}-view`,
        });
        expected.set(`seg-${p}-view`, { type: 'track', person: user, ts: at(p * 10 + 1), props });
        analytics.identify({
          userId: user,
          anonymousId: anon,
          traits: { plan: p % 2 ? 'pro' : 'free', email: `${user}@example.com` },
          timestamp: at(p * 10 + 2),
          messageId: `seg-${p}-identify`,
        });
        expected.set(`seg-${p}-identify`, { type: 'identify', person: user, ts: at(p * 10 + 2) });
        analytics.track({
          userId: user,
          event: 'Order Completed',
          properties: { revenue: 10 + p },
          timestamp: at(p * 10 + 3),
          messageId: `seg-${p}-order`,
        });
        expected.set(`seg-${p}-order`, {
          type: 'track',
          person: user,
          ts: at(p * 10 + 3),
          props: { revenue: 10 + p },
        });
        analytics.screen({
          userId: user,
          name: 'Cart',
          timestamp: at(p * 10 + 4),
          messageId: `seg-${p}-screen`,
        });
        expected.set(`seg-${p}-screen`, { type: 'screen', person: user, ts: at(p * 10 + 4), name: 'Cart' });
        analytics.group({
          userId: user,
          groupId: `acct-${p % 5}`,
          traits: { name: `Account ${p % 5}` },
          timestamp: at(p * 10 + 5),
          messageId: `seg-${p}-group`,
        });
        expected.set(`seg-${p}-group`, { type: 'group', person: user, ts: at(p * 10 + 5) });
        // A second device, linked by alias.
        analytics.alias({
          userId: user,
          previousId: `device-${p}`,
          timestamp: at(p * 10 + 6),
          messageId: `seg-${p}-alias`,
        });
        expected.set(`seg-${p}-alias`, { type: 'alias', person: user, ts: at(p * 10 + 6) });
        analytics.track({
          anonymousId: `device-${p}`,
          event: 'App Opened',
          timestamp: at(p * 10 + 7),
          messageId: `seg-${p}-device`,
        });
        expected.set(`seg-${p}-device`, { type: 'track', person: user, ts: at(p * 10 + 7) });
      }
      await analytics.closeAndFlush({ timeout: 60_000 });
      assert.deepEqual(failures, []);
      await server.committer.settled();
      // The path under test was taken: loads of the log, or none at all.
      const loads = /segflow_loads_total\{result="ok"\} (\d+)/.exec(
        await (await fetch(`${server.url}/metrics`)).text(),
      );
      if (mode === 'intake log') assert.ok(Number(loads?.[1]) >= 1, 'the intake log was loaded');
      else assert.equal(Number(loads?.[1]), 0);

      const stored = await storedEvents(server.wh);
      const ours = [...stored.values()].filter((e) => e.message_id.startsWith('seg-'));
      assert.equal(ours.length, expected.size, 'every event stored, none twice');
      for (const [id, want] of expected) {
        const got = stored.get(id);
        assert.ok(got, `${id} stored`);
        assert.equal(got.type, want.type, id);
        assert.equal(got.person_id, want.person, `${id} resolves to ${want.person}`);
        assert.equal(got.ts.toISOString(), want.ts.toISOString(), `${id} timestamp`);
        if (want.props) assert.deepEqual(JSON.parse(got.properties!), want.props, `${id} properties`);
        if (want.name) assert.equal(got.name, want.name);
      }
      const [traits] = await server.wh.query<{ traits: string }>(
        `SELECT traits FROM persons WHERE person_id = 'user-3'`,
      );
      assert.deepEqual(JSON.parse(traits!.traits), { plan: 'pro', email: 'user-3@example.com' });
      const [rejects] = await server.wh.query<{ n: number }>('SELECT count(*) AS n FROM rejected_events');
      assert.equal(rejects!.n, 0);
    });

    test('posthog-node: capture, identify (with $anon_distinct_id), alias land exactly once, mapped to Segment types', async () => {
      const posthog = new PostHog(server.keys.write, {
        host: server.url,
        flushAt: 5,
        flushInterval: 50,
        fetchRetryDelay: 100,
      });
      const errors: unknown[] = [];
      posthog.on('error', (e) => errors.push(e));
      const t0 = Date.UTC(2026, 1, 1, 12, 0, 0);
      const at = (i: number) => new Date(t0 + i * 1000);
      const expected = new Map<
        string,
        { type: string; person: string; ts: Date; event?: string; props?: object }
      >();
      let n = 0;
      const uuid = () => `00000000-0000-7000-8000-${String(++n).padStart(12, '0')}`;
      for (let p = 0; p < 25; p++) {
        const anon = `ph-anon-${p}`;
        const user = `ph-user-${p}`;
        let id = uuid();
        posthog.capture({
          distinctId: anon,
          event: 'signup_started',
          properties: { step: 1, source: 'ads' },
          timestamp: at(p * 5),
          uuid: id,
        });
        expected.set(id, {
          type: 'track',
          person: user,
          ts: at(p * 5),
          event: 'signup_started',
          props: { step: 1, source: 'ads' },
        });
        id = uuid();
        posthog.identify({
          distinctId: user,
          properties: { $set: { plan: 'team' }, $anon_distinct_id: anon },
        });
        // identify() takes no uuid or timestamp option: found below by type and person.
        id = uuid();
        posthog.capture({
          distinctId: user,
          event: 'invoice_paid',
          properties: { amount: p * 3 },
          timestamp: at(p * 5 + 2),
          uuid: id,
        });
        expected.set(id, {
          type: 'track',
          person: user,
          ts: at(p * 5 + 2),
          event: 'invoice_paid',
          props: { amount: p * 3 },
        });
        posthog.alias({ distinctId: user, alias: `ph-device-${p}` });
        id = uuid();
        posthog.capture({
          distinctId: `ph-device-${p}`,
          event: '$pageview',
          properties: { $current_url: 'https://x.test/a', $pathname: '/a' },
          timestamp: at(p * 5 + 4),
          uuid: id,
        });
        expected.set(id, { type: 'page', person: user, ts: at(p * 5 + 4) });
      }
      await posthog.shutdown(60_000);
      assert.deepEqual(errors, []);
      await server.committer.settled();

      const stored = await storedEvents(server.wh);
      // distinct_id maps to userId, so the person's canonical id is the smallest of its ids ('ph-anon-…'): what
      // matters is that every id of a person resolves to one person.
      const personOf = new Map(
        (await server.wh.query<{ identifier: string; person_id: string }>('SELECT * FROM identities')).map(
          (r) => [r.identifier, r.person_id],
        ),
      );
      for (let p = 0; p < 25; p++) {
        const person = personOf.get(`ph-user-${p}`);
        assert.ok(person);
        assert.equal(personOf.get(`ph-anon-${p}`), person, 'identify merged the anonymous id');
        assert.equal(personOf.get(`ph-device-${p}`), person, 'alias merged the device id');
      }
      for (const [id, want] of expected) {
        const got = stored.get(id);
        assert.ok(got, `${id} stored`);
        assert.equal(got.type, want.type, id);
        assert.equal(got.person_id, personOf.get(want.person), `${id} resolves to ${want.person}`);
        assert.equal(got.ts.toISOString(), want.ts.toISOString(), `${id} timestamp`);
        if (want.event) assert.equal(got.event, want.event);
        if (want.props) {
          const props = JSON.parse(got.properties!) as Record<string, unknown>;
          for (const [k, v] of Object.entries(want.props)) assert.deepEqual(props[k], v, `${id} ${k}`);
        }
      }
      const phPersons = new Set(Array.from({ length: 25 }, (_, p) => personOf.get(`ph-user-${p}`)));
      const phEvents = [...stored.values()].filter((e) => phPersons.has(e.person_id));
      const byType = (t: string) => phEvents.filter((e) => e.type === t).length;
      assert.equal(byType('track'), 50);
      assert.equal(byType('page'), 25);
      assert.equal(byType('identify'), 25, 'one identify per person, merged into the user');
      assert.equal(byType('alias'), 25);
      const [traits] = await server.wh.query<{ traits: string }>(
        'SELECT traits FROM persons WHERE person_id = ?',
        [personOf.get('ph-user-7')!],
      );
      assert.equal((JSON.parse(traits!.traits) as { plan: string }).plan, 'team');
    });
  });
