import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cachedPlaybook } from '../../src/activate/playbook-file.js';
import { deletePerson } from '../../src/govern/privacy.js';
import { retireSegment } from '../../src/govern/segment-review.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { findPersons } from '../../src/instrument/person-search.js';
import { personTimeline } from '../../src/instrument/person-timeline.js';
import { squashPersonOverrides } from '../../src/instrument/persons-on-events.js';
import { getPerson } from '../../src/instrument/profiles.js';
import { decide } from '../../src/personalize/decide.js';
import { DecideService, DecideSnapshot } from '../../src/personalize/decide-snapshot.js';
import { runCycle } from '../../src/pipeline/cycle.js';
import { listSegments } from '../../src/segment/segment-list.js';
import { segmentReport } from '../../src/segment/segment-report.js';
import { tempDir } from '../helpers/temp.js';
import { type Shop, startShop } from '../ui/shop.js';

/**
 * The dashboard's reads of one person touch only that person's rows; these tests hold them to the figures the
 * whole-population reads give on a generated shop (the `persons` view, the decision snapshot).
 */
describe('dashboard reads of one person', () => {
  let shop: Shop;
  const dir = tempDir();
  before(async () => {
    shop = await startShop(dir, { people: 150, days: 60 });
  });
  after(async () => {
    await shop?.close();
  });

  const viewRows = () =>
    shop.wh.query<{
      person_id: string;
      identified: boolean;
      first_seen: Date;
      last_seen: Date;
      event_count: bigint;
      traits: string;
      consent: string;
    }>(
      // A sample: the people with the most identifiers (merged devices, aliases) and some of everyone else.
      `SELECT * FROM persons ORDER BY identifier_count DESC, person_id LIMIT 25`,
    );

  const sameAsView = async () => {
    const rows = await viewRows();
    assert.equal(rows.length, 25);
    for (const row of rows) {
      const p = await getPerson(shop.wh, row.person_id, 5);
      assert.equal(p.personId, row.person_id);
      assert.equal(p.identified, row.identified, row.person_id);
      assert.equal(p.firstSeen.getTime(), row.first_seen.getTime(), row.person_id);
      assert.equal(p.lastSeen.getTime(), row.last_seen.getTime(), row.person_id);
      assert.equal(p.eventCount, Number(row.event_count), row.person_id);
      assert.deepEqual(p.traits, JSON.parse(row.traits), row.person_id);
      assert.deepEqual(p.consent, JSON.parse(row.consent), row.person_id);
      const recent = await shop.wh.query<{ message_id: string }>(
        'SELECT message_id FROM person_events WHERE person_id = ? ORDER BY ts DESC, message_id LIMIT 5',
        [row.person_id],
      );
      assert.deepEqual(
        p.recentEvents.map((e) => e.messageId),
        recent.map((e) => e.message_id),
        row.person_id,
      );
    }
    return rows;
  };

  test('a profile equals its row of the persons view, for every person, by any identifier', async () => {
    const rows = await sameAsView();
    assert.ok(rows.some((r) => Object.keys(JSON.parse(r.traits)).length > 0));
    assert.ok(rows.some((r) => Object.keys(JSON.parse(r.consent)).length > 0));
    // By an anonymous id of an identified person: the same profile.
    const [anon] = await shop.wh.query<{ identifier: string; person_id: string }>(
      'SELECT identifier, person_id FROM identities WHERE NOT is_user AND identifier <> person_id LIMIT 1',
    );
    assert.ok(anon);
    assert.equal((await getPerson(shop.wh, anon.identifier)).personId, anon.person_id);
    await assert.rejects(getPerson(shop.wh, 'nobody-has-this-id'), /no person has the identifier/);
  });

  test('a profile still equals the view while a merge of two people with events waits to be squashed', async () => {
    const [a, b] = await shop.wh.query<{ person_id: string; identifier: string }>(
      `SELECT person_id, min(identifier) AS identifier FROM identities WHERE NOT is_user
       AND person_id NOT IN (SELECT person_id FROM identities WHERE is_user) GROUP BY person_id ORDER BY person_id LIMIT 2`,
    );
    assert.ok(a && b, 'two anonymous people');
    await ingestMessages(
      shop.wh,
      [
        {
          type: 'identify',
          userId: 'merged-user',
          anonymousId: a.identifier,
          traits: { plan: 'gold' },
          timestamp: new Date(Date.now() - 60_000).toISOString(),
        },
        {
          type: 'identify',
          userId: 'merged-user',
          anonymousId: b.identifier,
          traits: { plan: 'platinum' },
          timestamp: new Date().toISOString(),
        },
      ],
      { source: 'test' },
    );
    const [pending] = await shop.wh.query<{ n: bigint }>('SELECT count(*) AS n FROM person_overrides');
    assert.ok(Number(pending!.n) > 0, 'the merge is pending');
    await sameAsView();
    const merged = await getPerson(shop.wh, 'merged-user');
    const [view] = await shop.wh.query<{ event_count: bigint; first_seen: Date }>(
      `SELECT event_count, first_seen FROM persons WHERE person_id = ?`,
      [merged.personId],
    );
    assert.equal(merged.eventCount, Number(view!.event_count));
    assert.equal(merged.firstSeen.getTime(), view!.first_seen.getTime());
    const [recent] = await shop.wh.query<{ n: bigint }>(
      'SELECT count(*) AS n FROM person_events WHERE person_id = ?',
      [merged.personId],
    );
    assert.equal((await getPerson(shop.wh, 'merged-user', 1000)).recentEvents.length, Number(recent!.n));
    assert.equal(merged.traits.plan, 'platinum');
    assert.ok(merged.identifiers.length >= 3);
  });

  test('decide() before the snapshot is loaded gives the decision the snapshot gives', async () => {
    const pb = cachedPlaybook(join(shop.segmentsDir, '..', 'playbook.yaml'));
    const snapshot = await DecideSnapshot.load(shop.wh, pb);
    const people = await shop.wh.query<{ person_id: string }>(
      `SELECT DISTINCT person_id FROM segment_memberships WHERE exited_at IS NULL ORDER BY person_id LIMIT 30`,
    );
    assert.ok(people.length > 10);
    let served = 0;
    for (const { person_id } of people) {
      // A fresh service has no snapshot: it reads this person alone (and starts loading everyone behind).
      const cold = await new DecideService(shop.wh).decide(pb, person_id, { record: false });
      const warm = snapshot.decide(pb, person_id, cold.asOf);
      const direct = await decide(shop.wh, pb, person_id, { asOf: cold.asOf, record: false });
      // The service lists the segments a play targets (as its snapshot holds them); decide() lists all.
      assert.deepEqual(cold.segments, warm.segments, person_id);
      for (const other of [warm, direct]) {
        assert.deepEqual(cold.candidates, other.candidates, person_id);
        assert.deepEqual(cold.play, other.play, person_id);
      }
      assert.deepEqual(cold.recording, { recorded: false, note: cold.recording.note });
      // The person's page asks for its decision from this person's rows (never the snapshot of everyone).
      const r = await fetch(`${shop.server.url}/api/v1/persons/${encodeURIComponent(person_id)}/decision`, {
        headers: { authorization: `Bearer ${shop.keys.read}` },
      });
      assert.equal(r.status, 200);
      const page = (await r.json()) as {
        candidates: unknown;
        play: unknown;
        recording: { recorded: boolean };
      };
      assert.deepEqual(page.candidates, JSON.parse(JSON.stringify(warm.candidates)), person_id);
      assert.deepEqual(page.play, JSON.parse(JSON.stringify(warm.play)), person_id);
      assert.equal(page.recording.recorded, false);
      if (cold.play) served++;
    }
    assert.ok(served > 0, 'someone is served a play');
    const unknown = await new DecideService(shop.wh).decide(pb, 'nobody-has-this-id', { record: false });
    assert.equal(unknown.personId, null);
  });
});

/**
 * People search and a person's timeline read through point lookups (an identifier index, the email lookup); these
 * tests hold them to a direct search of the `persons` view and a direct read of `person_events`.
 */
describe('people search and the timeline', () => {
  let shop: Shop;
  const dir = tempDir();
  before(async () => {
    shop = await startShop(dir, { people: 150, days: 60 });
  });
  after(async () => {
    await shop?.close();
  });

  /** Everyone the persons view says an identifier or an email (any case) names, as the search orders them. */
  const directSearch = async (query: string) => {
    const q = query.trim();
    const rows = await shop.wh.query<{
      person_id: string;
      email: string | null;
      identified: boolean;
      last_seen: Date;
      by_id: boolean;
    }>(
      `WITH by_id AS (SELECT person_id FROM identities WHERE identifier = $1),
            by_email AS (SELECT i.person_id FROM identity_traits t JOIN identities i ON i.identifier = t.identifier
                         WHERE t.key = 'email' AND lower(json_extract_string(t.value, '$')) = lower($1))
       SELECT person_id, json_extract_string(traits, '$.email') AS email, identified, last_seen,
              person_id IN (SELECT person_id FROM by_id) AS by_id
       FROM persons WHERE person_id IN (SELECT person_id FROM by_id UNION SELECT person_id FROM by_email)
       ORDER BY by_id DESC, last_seen DESC, person_id`,
      [q],
    );
    return rows.map((r) => ({
      personId: r.person_id,
      email: r.email,
      identified: r.identified,
      lastSeen: r.last_seen,
      matchedBy: r.by_id ? 'identifier' : 'email',
    }));
  };
  const sameAsDirect = async (q: string, what: string) => {
    const want = await directSearch(q);
    assert.deepEqual(await findPersons(shop.wh, q), want, `${what}: ${q}`);
    return want;
  };

  test('finds by any identifier or an email in any case what a direct search of the persons view finds', async () => {
    const people = await shop.wh.query<{ person_id: string; email: string; anon: string | null }>(
      `SELECT p.person_id, json_extract_string(p.traits, '$.email') AS email,
              (SELECT min(identifier) FROM identities i WHERE i.person_id = p.person_id AND NOT i.is_user) AS anon
       FROM persons p WHERE json_extract_string(p.traits, '$.email') IS NOT NULL
       ORDER BY identifier_count DESC, person_id LIMIT 20`,
    );
    assert.equal(people.length, 20);
    for (const p of people) {
      const found = await sameAsDirect(p.email.toUpperCase(), 'email, upper case');
      assert.ok(
        found.some((f) => f.personId === p.person_id && f.matchedBy === 'email'),
        p.email,
      );
      await sameAsDirect(`  ${p.email}  `, 'email, spaces around');
      await sameAsDirect(p.person_id, 'person id');
      if (p.anon) await sameAsDirect(p.anon, 'anonymous id');
    }
    assert.deepEqual(await findPersons(shop.wh, 'nobody@nowhere.example'), []);
    assert.deepEqual(await findPersons(shop.wh, '   '), []);
  });

  test('follows a changed email, two people sharing one and a deletion', async () => {
    const [p] = await shop.wh.query<{ person_id: string; email: string }>(
      `SELECT person_id, json_extract_string(traits, '$.email') AS email FROM persons
       WHERE identified AND json_extract_string(traits, '$.email') IS NOT NULL ORDER BY person_id LIMIT 1`,
    );
    assert.ok(p);
    const at = (ms: number) => new Date(Date.now() + ms).toISOString();
    await ingestMessages(
      shop.wh,
      [
        {
          type: 'identify',
          userId: p.person_id,
          traits: { email: 'New.Address@Shop.Example' },
          timestamp: at(0),
        },
        // Someone else takes the old address, and a third person gets the same new one.
        { type: 'identify', userId: 'took-the-old-one', traits: { email: p.email }, timestamp: at(1000) },
        {
          type: 'identify',
          userId: 'shares-the-new-one',
          traits: { email: 'new.address@shop.example' },
          timestamp: at(2000),
        },
      ],
      { source: 'test' },
    );
    const old = await sameAsDirect(p.email, 'the old address');
    assert.deepEqual(
      old.map((m) => m.personId),
      ['took-the-old-one'],
      'the old address names only who has it now',
    );
    const shared = await sameAsDirect('NEW.ADDRESS@SHOP.EXAMPLE', 'the new address');
    assert.deepEqual(shared.map((m) => m.personId).sort(), [p.person_id, 'shares-the-new-one'].sort());

    await deletePerson(shop.wh, 'shares-the-new-one', { actor: 'test' });
    await sameAsDirect('new.address@shop.example', 'after a deletion');
    const [left] = await shop.wh.query<{ n: bigint }>(
      `SELECT count(*) AS n FROM identity_emails WHERE identifier = 'shares-the-new-one'`,
    );
    assert.equal(Number(left!.n), 0, 'the deleted person left no email behind');
  });

  test("a person's timeline, page by page, is their events newest first with the total", async () => {
    const people = await shop.wh.query<{ person_id: string; n: bigint }>(
      `SELECT person_id, count(*) AS n FROM person_events GROUP BY person_id ORDER BY n DESC, person_id LIMIT 5`,
    );
    for (const { person_id, n } of people) {
      const want = await shop.wh.query<{ message_id: string }>(
        'SELECT message_id FROM person_events WHERE person_id = ? ORDER BY ts DESC, message_id',
        [person_id],
      );
      const got: string[] = [];
      for (let page = 0; ; page++) {
        const t = await personTimeline(shop.wh, person_id, { page, pageSize: 7 });
        assert.equal(t.total, Number(n), `${person_id}, page ${page}`);
        if (t.events.length === 0) break;
        got.push(...t.events.map((e) => e.messageId));
      }
      assert.deepEqual(
        got,
        want.map((w) => w.message_id),
        person_id,
      );
    }
  });
});

/**
 * The overview's figures come from a summary kept from the events added since; after every kind of change — new
 * events (some for past days), people merging (pending, then squashed), a person deleted — they equal a direct
 * computation over the events.
 */
describe('the overview over a summary', () => {
  let shop: Shop;
  const dir = tempDir();
  before(async () => {
    shop = await startShop(dir, { people: 150, days: 60 });
  });
  after(async () => {
    await shop?.close();
  });

  const round = (x: number | null) => Math.round(100 * Number(x ?? 0)) / 100;

  async function direct(days: number) {
    const wh = shop.wh;
    const [t] = await wh.query<{
      events: bigint;
      revenue: number | null;
      purchasers: bigint;
      first: Date | null;
      last: Date | null;
    }>(
      `SELECT count(*) AS events, sum(revenue) FILTER (WHERE event = 'Order Completed') AS revenue,
              count(DISTINCT person_id) FILTER (WHERE event = 'Order Completed') AS purchasers,
              min(ts) AS first, max(ts) AS last FROM person_events`,
    );
    const [p] = await wh.query<{ persons: bigint; identified: bigint }>(
      `SELECT count(DISTINCT person_id) AS persons, count(DISTINCT person_id) FILTER (WHERE is_user) AS identified
       FROM identities`,
    );
    const lastDay = new Date(t!.last!);
    lastDay.setUTCHours(0, 0, 0, 0);
    const daily = await wh.query<{ day: Date; events: bigint; people: bigint; revenue: number | null }>(
      `SELECT date_trunc('day', ts) AS day, count(*) AS events, count(DISTINCT person_id) AS people,
              sum(revenue) FILTER (WHERE event = 'Order Completed') AS revenue
       FROM person_events WHERE ts >= ? GROUP BY 1 ORDER BY 1`,
      [new Date(lastDay.getTime() - (days - 1) * 86_400_000)],
    );
    return {
      events: Number(t!.events),
      revenue: round(t!.revenue),
      purchasers: Number(t!.purchasers),
      firstEvent: t!.first!.toISOString(),
      lastEvent: t!.last!.toISOString(),
      persons: Number(p!.persons),
      identifiedPersons: Number(p!.identified),
      daily: daily.map((d) => ({
        day: d.day.toISOString().slice(0, 10),
        events: Number(d.events),
        people: Number(d.people),
        revenue: round(d.revenue),
      })),
    };
  }

  async function assertOverviewIsDirect(when: string) {
    for (const days of [400, 7]) {
      const r = await fetch(`${shop.server.url}/api/v1/overview?days=${days}`, {
        headers: { authorization: `Bearer ${shop.keys.read}` },
      });
      assert.equal(r.status, 200);
      const page = (await r.json()) as Record<string, unknown>;
      const want = await direct(days);
      const got = Object.fromEntries(Object.keys(want).map((k) => [k, page[k]]));
      assert.deepEqual(got, want, `${when}, ${days} days`);
      if (days === 7) assert.equal(want.daily.length, 7, 'a week of days, each with events');
    }
  }

  const anonymousPeople = () =>
    shop.wh.query<{ person_id: string; identifier: string; day: Date }>(
      `SELECT e.person_id, min(e.anonymous_id) AS identifier, max(date_trunc('day', e.ts)) AS day
       FROM events e WHERE e.person_id NOT IN (SELECT person_id FROM identities WHERE is_user)
       GROUP BY e.person_id ORDER BY e.person_id`,
    );

  test('equals a direct computation after new events, merges, a squash and a deletion', async () => {
    await assertOverviewIsDirect('first read (the summary is built)');
    await assertOverviewIsDirect('read again (nothing changed)');

    const day = 86_400_000;
    await ingestMessages(
      shop.wh,
      [
        { type: 'track', userId: 'late-buyer', event: 'Order Completed', properties: { revenue: 12.34 } },
        {
          type: 'track',
          userId: 'late-buyer',
          event: 'Order Completed',
          properties: { revenue: 7.5 },
          timestamp: new Date(Date.now() - 3 * day).toISOString(),
        },
        { type: 'page', anonymousId: 'fresh-visitor', name: 'Home' },
      ],
      { source: 'test' },
    );
    await assertOverviewIsDirect('new events, one of them days late');

    // Two anonymous people active on the same day become one: that day counts one person fewer.
    const anon = await anonymousPeople();
    const [a, b] = anon.filter((p) => p.day.getTime() === anon[0]!.day.getTime());
    assert.ok(a && b, 'two anonymous people active on the same day');
    await ingestMessages(
      shop.wh,
      [
        { type: 'alias', userId: a.identifier, previousId: b.identifier },
        { type: 'identify', userId: 'one-of-two', anonymousId: a.identifier },
      ],
      { source: 'test' },
    );
    await assertOverviewIsDirect('two people merged (pending)');

    // A merge and its squash between two reads.
    const [c, d] = (await anonymousPeople()).slice(-2);
    await ingestMessages(shop.wh, [{ type: 'identify', userId: c!.identifier, anonymousId: d!.identifier }], {
      source: 'test',
    });
    assert.ok((await squashPersonOverrides(shop.wh)).overrides > 0);
    await assertOverviewIsDirect('merged and squashed');

    await deletePerson(shop.wh, 'late-buyer', { actor: 'test' });
    await assertOverviewIsDirect('a person deleted');
    const [left] = await shop.wh.query<{ n: bigint }>(
      `SELECT count(*) AS n FROM activity_person_days WHERE person_id = 'late-buyer'`,
    );
    assert.equal(Number(left!.n), 0, 'the deleted person is gone from the summary');
  });

  test("the segment report's sizes and overlaps, kept between views, follow every change of memberships", async () => {
    const direct = async () => {
      const sizes = await shop.wh.query<{ name: string; size: bigint }>(
        `SELECT s.name, (SELECT count(*) FROM segment_memberships m WHERE m.segment = s.name AND m.exited_at IS NULL) AS size
         FROM segments s WHERE s.active ORDER BY s.name`,
      );
      const pairs = await shop.wh.query<{ a: string; b: string; both: bigint }>(
        `WITH m AS (SELECT segment, person_id FROM segment_memberships WHERE exited_at IS NULL
                    AND segment IN (SELECT name FROM segments WHERE active))
         SELECT x.segment AS a, y.segment AS b, count(*) AS both FROM m x JOIN m y
           ON x.person_id = y.person_id AND x.segment < y.segment GROUP BY 1, 2 ORDER BY 1, 2`,
      );
      const [p] = await shop.wh.query<{ n: bigint }>('SELECT count(DISTINCT person_id) AS n FROM identities');
      return {
        population: Number(p!.n),
        sizes: sizes.map((r) => [r.name, Number(r.size)]),
        pairs: pairs.map((r) => [r.a, r.b, Number(r.both)]),
      };
    };
    const check = async (when: string) => {
      const r = await segmentReport(shop.wh);
      assert.deepEqual(
        {
          population: r.population,
          sizes: r.segments.map((s) => [s.name, s.size]),
          pairs: r.overlap.map((o) => [o.a, o.b, o.both]),
        },
        await direct(),
        when,
      );
      // The Segments page's list: the same sizes, and each segment's size at the refresh before its last.
      const list = await listSegments(shop.wh);
      assert.deepEqual(
        list.map((l) => [l.name, l.size]),
        r.segments.map((x) => [x.name, x.size]),
      );
      for (const l of list) {
        const [previous] = await shop.wh.query<{ size: bigint }>(
          'SELECT size FROM segment_refreshes WHERE segment = ? ORDER BY refresh_id DESC LIMIT 1 OFFSET 1',
          [l.name],
        );
        assert.equal(l.previousSize, previous ? Number(previous.size) : null, `${when}: ${l.name}`);
      }
      return r;
    };
    const first = await check('first view');
    assert.ok(first.overlap.length > 0 && first.segments.some((s) => s.size > 0));
    await check('second view (kept)');
    await ingestMessages(
      shop.wh,
      Array.from({ length: 5 }, (_, i) => ({
        type: 'track',
        userId: `new-buyer-${i}`,
        event: 'Order Completed',
        properties: { revenue: 50 },
      })),
      { source: 'test' },
    );
    await runCycle(shop.wh, { segmentsDir: shop.segmentsDir });
    await check('after new buyers and a refresh');
    assert.ok(await retireSegment(shop.wh, 'canary'));
    await check('after a retirement');
    const [member] = await shop.wh.query<{ person_id: string }>(
      `SELECT person_id FROM segment_memberships WHERE exited_at IS NULL ORDER BY person_id LIMIT 1`,
    );
    await deletePerson(shop.wh, member!.person_id, { actor: 'test' });
    await check('after a person was deleted');
  });
});

test('the segment report runs on a database opened read-only (segflow segments report), summary or not', async () => {
  const { openWarehouse } = await import('../../src/engine/open.js');
  const { overviewTotals } = await import('../../src/instrument/activity.js');
  const path = join(tempDir(), 'ro.duckdb');
  const wh = await openWarehouse({ path });
  const at = (h: number) => new Date(Date.UTC(2026, 0, 1, h)).toISOString();
  await ingestMessages(
    wh,
    [
      { type: 'track', userId: 'a', event: 'Order Completed', properties: { revenue: 5 }, timestamp: at(1) },
      { type: 'track', anonymousId: 'b', event: 'Product Viewed', timestamp: at(2) },
    ],
    { source: 'test' },
  );
  await overviewTotals(wh); // the summary, as of these events
  await ingestMessages(wh, [{ type: 'track', userId: 'c', event: 'Product Viewed', timestamp: at(3) }], {
    source: 'test',
  });
  await wh.close();
  const ro = await openWarehouse({ path, readOnly: true });
  try {
    // The summary is behind (one more person since): the report counts from the identities, writing nothing.
    assert.equal((await segmentReport(ro)).population, 3);
  } finally {
    await ro.close();
  }
});
