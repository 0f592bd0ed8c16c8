import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ECOMMERCE_PARAMS } from '../../src/generate/ecommerce.js';
import {
  ECOMMERCE_ARCHETYPES,
  type GeneratorProfile,
  type GroundTruth,
  generateEvents,
  type SegmentEvent,
} from '../../src/generate/index.js';
import { DAY_MS, isPromotionDay } from '../../src/generate/timing.js';

/**
 * Ground truth against the events it describes. Tolerances (docs/generator.md): the observed purchase count of an
 * archetype is within ±10% of Σ purchaseRatePerDay × active days wherever that expectation is at least 800 purchases
 * (a Poisson count of 800 has a relative standard deviation of 3.5%, so ±10% is about 3 standard deviations).
 */

const START = Date.parse('2026-01-01T00:00:00Z');
const DAYS = 90;
const END = START + DAYS * DAY_MS;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

interface PersonEvents {
  truth: GroundTruth;
  events: SegmentEvent[];
}

/**
 * Generate and check the invariants every unit must satisfy, returning each person's events. Checks: ids of every
 * message belong to exactly one truth person of the same unit; the unit is in time order inside the window; no message
 * after a churn date; every truth id appears; messageIds are unique; a device carries the userId only from its first
 * identify on.
 */
function generateAndCheck(profile: GeneratorProfile, people: number, seed: number): PersonEvents[] {
  const owner = new Map<string, number>();
  const messageIds = new Set<string>();
  const out: PersonEvents[] = [];
  for (const unit of generateEvents({ people, days: DAYS, seed, profile })) {
    const first = out.length;
    for (const truth of unit.truth) {
      const index = out.length;
      out.push({ truth, events: [] });
      for (const id of [truth.userId, ...truth.anonymousIds]) {
        if (id === null) continue;
        assert.equal(owner.has(id), false, `id ${id} belongs to two truth people`);
        owner.set(id, index);
      }
      assert.equal(truth.personKey, truth.userId ?? [...truth.anonymousIds].sort()[0]);
    }
    let previous = '';
    const loginAt = new Map<string, string>();
    const seenIds = new Set<string>();
    for (const ev of unit.events) {
      assert.match(ev.timestamp, ISO);
      assert.ok(ev.timestamp >= previous, 'a unit is in time order');
      previous = ev.timestamp;
      const t = Date.parse(ev.timestamp);
      assert.ok(t >= START && t < END, `timestamp ${ev.timestamp} outside the window`);
      assert.equal(messageIds.has(ev.messageId), false, `duplicate messageId ${ev.messageId}`);
      messageIds.add(ev.messageId);

      const ids = [ev.userId, ev.anonymousId, ev.previousId].filter((x): x is string => x !== undefined);
      assert.ok(
        ev.userId !== undefined || ev.anonymousId !== undefined,
        'every message has a userId or anonymousId',
      );
      const persons = new Set(ids.map((id) => owner.get(id)));
      assert.equal(persons.size, 1, `ids of ${JSON.stringify(ev)} belong to one person`);
      const person = [...persons][0];
      assert.ok(
        person !== undefined && person >= first,
        `ids of ${ev.messageId} belong to this unit's truth`,
      );
      for (const id of ids) seenIds.add(id);
      const p = out[person]!;
      p.events.push(ev);
      if (p.truth.churnDate !== null)
        assert.ok(ev.timestamp <= p.truth.churnDate, 'no message after the churn date');

      if (ev.type === 'identify' && ev.anonymousId !== undefined && !loginAt.has(ev.anonymousId)) {
        loginAt.set(ev.anonymousId, ev.timestamp);
      }
      if (ev.anonymousId !== undefined && ev.userId !== undefined && ev.type !== 'alias') {
        const login = loginAt.get(ev.anonymousId);
        assert.ok(
          login !== undefined && login <= ev.timestamp,
          'a device is anonymous until its first identify',
        );
      }
      switch (ev.type) {
        case 'track':
          assert.ok(ev.event !== undefined && ev.properties !== undefined);
          break;
        case 'page':
        case 'screen':
          assert.ok(ev.name !== undefined && ev.properties !== undefined);
          break;
        case 'identify':
          assert.ok(ev.userId !== undefined && typeof ev.traits?.email === 'string');
          break;
        case 'group':
          assert.ok(ev.userId !== undefined && ev.groupId === p.truth.accountId && ev.traits !== undefined);
          break;
        case 'alias':
          assert.ok(ev.userId !== undefined && ev.previousId !== undefined);
          break;
      }
    }
    for (const truth of unit.truth) {
      if (truth.userId !== null) assert.ok(seenIds.has(truth.userId), `truth userId ${truth.userId} appears`);
      for (const id of truth.anonymousIds) assert.ok(seenIds.has(id), `truth anonymousId ${id} appears`);
      assert.ok(truth.userId !== null || truth.anonymousIds.length > 0, 'every person is seen');
    }
  }
  return out;
}

/** Every anonymousId of an identified person is linked to the userId by a message carrying both, or by an alias. */
function assertLinked(p: PersonEvents): void {
  if (p.truth.userId === null) return;
  const linked = new Set<string>();
  for (const ev of p.events) {
    if (ev.userId !== undefined && ev.anonymousId !== undefined) linked.add(ev.anonymousId);
    if (ev.type === 'alias' && ev.previousId !== undefined) linked.add(ev.previousId);
  }
  for (const id of p.truth.anonymousIds)
    assert.ok(linked.has(id), `anonymousId ${id} of ${p.truth.userId} is linked`);
}

function activeDays(truth: GroundTruth): number {
  const signup = truth.signupDate === null ? START : Math.max(START, Date.parse(truth.signupDate));
  const from = truth.archetype === 'new_customer' ? signup : START;
  const to = truth.churnDate === null ? END : Date.parse(truth.churnDate);
  return (to - from) / DAY_MS;
}

describe('ecommerce ground truth', () => {
  // Filled by the first test; the others read it (tests of a suite run in order).
  const people: PersonEvents[] = [];

  it('keeps ground truth and events consistent for 6,000 people', () => {
    people.push(...generateAndCheck('ecommerce', 6000, 11));
    assert.equal(people.length, 6000);
  });

  it('links every device of an identified person to it; some people stay anonymous', () => {
    for (const p of people) assertLinked(p);
    const shoppers = people.filter((p) => p.truth.archetype === 'window_shopper');
    const anonymous = shoppers.filter((p) => p.truth.userId === null).length / shoppers.length;
    assert.ok(anonymous > 0.3 && anonymous < 0.7, `anonymous window shoppers ${anonymous}`);
    assert.ok(people.every((p) => p.truth.userId !== null || p.truth.archetype === 'window_shopper'));
    const identified = people.filter((p) => p.truth.userId !== null);
    const devices = (n: number) =>
      identified.filter((p) => p.truth.anonymousIds.length >= n).length / identified.length;
    assert.ok(devices(2) > 0.12 && devices(2) < 0.3, `second device share ${devices(2)}`);
    const aliased =
      identified.filter((p) => p.events.some((e) => e.type === 'alias')).length / identified.length;
    assert.ok(aliased > 0.03 && aliased < 0.07, `alias share ${aliased}`);
  });

  it('makes the purchase count match purchaseRatePerDay × active days per archetype', () => {
    for (const archetype of ECOMMERCE_ARCHETYPES) {
      const group = people.filter((p) => p.truth.archetype === archetype);
      const expected = group.reduce((s, p) => s + p.truth.purchaseRatePerDay * activeDays(p.truth), 0);
      const observed = group.reduce(
        (s, p) => s + p.events.filter((e) => e.event === 'Order Completed').length,
        0,
      );
      if (expected < 800) continue;
      const error = observed / expected - 1;
      assert.ok(Math.abs(error) < 0.1, `${archetype}: observed ${observed}, expected ${expected.toFixed(0)}`);
    }
  });

  it('draws rates heterogeneously around the archetype mean', () => {
    for (const archetype of ['loyal_champion', 'churning'] as const) {
      const rates = people
        .filter((p) => p.truth.archetype === archetype)
        .map((p) => p.truth.purchaseRatePerDay);
      const mean = rates.reduce((s, r) => s + r, 0) / rates.length;
      const { mean: target, shape } = ECOMMERCE_PARAMS[archetype].purchaseRate;
      assert.ok(Math.abs(mean / target - 1) < 0.05, `${archetype} mean rate ${mean}`);
      const cv = Math.sqrt(rates.reduce((s, r) => s + (r - mean) ** 2, 0) / rates.length) / mean;
      assert.ok(Math.abs(cv - 1 / Math.sqrt(shape)) < 0.05, `${archetype} rate spread ${cv}`);
    }
  });

  it('spends log-normally around each archetype mu', () => {
    for (const archetype of ECOMMERCE_ARCHETYPES) {
      const logs = people
        .filter((p) => p.truth.archetype === archetype)
        .flatMap((p) => p.events.filter((e) => e.event === 'Order Completed'))
        .map((e) => Math.log(Number(e.properties?.revenue)));
      if (logs.length < 500) continue;
      const mean = logs.reduce((s, x) => s + x, 0) / logs.length;
      assert.ok(
        Math.abs(mean - ECOMMERCE_PARAMS[archetype].order.mu) < 0.1,
        `${archetype} mean log revenue ${mean}`,
      );
    }
  });

  it('makes bargain hunters buy far more on promotion days', () => {
    let promo = 0;
    let other = 0;
    for (const p of people) {
      if (p.truth.archetype !== 'bargain_hunter') continue;
      for (const e of p.events) {
        if (e.event !== 'Order Completed') continue;
        if (isPromotionDay(Math.floor((Date.parse(e.timestamp) - START) / DAY_MS))) promo++;
        else other++;
      }
    }
    let promoDays = 0;
    for (let d = 0; d < DAYS; d++) if (isPromotionDay(d)) promoDays++;
    const ratio = promo / promoDays / (other / (DAYS - promoDays));
    assert.ok(ratio > 2, `promo/other daily purchase ratio ${ratio}`);
    assert.ok(promo > other, 'bargain hunters buy mostly during promotions');
  });

  it('puts churn dates inside the window and quiets churners before them', () => {
    const churners = people.filter((p) => p.truth.archetype === 'churning');
    assert.ok(churners.every((p) => p.truth.churnDate !== null));
    assert.ok(people.every((p) => p.truth.archetype === 'churning' || p.truth.churnDate === null));
    // Activity decays: the first half of each churner's life holds most of its messages.
    let early = 0;
    let late = 0;
    for (const p of churners) {
      const mid = (START + Date.parse(p.truth.churnDate!)) / 2;
      for (const e of p.events) {
        if (Date.parse(e.timestamp) < mid) early++;
        else late++;
      }
    }
    assert.ok(early > 2 * late, `early ${early}, late ${late}`);
  });

  it('lets new customers sign up late in the window', () => {
    for (const p of people.filter((x) => x.truth.archetype === 'new_customer')) {
      const signup = Date.parse(p.truth.signupDate!);
      assert.ok(signup >= START + 0.5 * DAYS * DAY_MS - 1);
      const signedUp = p.events.find((e) => e.event === 'Signed Up');
      assert.ok(signedUp !== undefined && Date.parse(signedUp.timestamp) - signup < 3_600_000);
      const orders = p.events.filter((e) => e.event === 'Order Completed');
      assert.ok(orders.every((e) => Date.parse(e.timestamp) >= signup));
    }
  });
});

describe('saas ground truth', () => {
  const users: PersonEvents[] = [];

  it('keeps ground truth and events consistent for 3,000 users', () => {
    users.push(...generateAndCheck('saas', 3000, 12));
  });

  it('generates exactly the requested users, grouped into accounts of 1-12', () => {
    assert.equal(users.length, 3000);
    const accounts = new Map<string, PersonEvents[]>();
    for (const u of users) {
      assert.ok(u.truth.accountId !== undefined && u.truth.userId !== null && u.truth.role !== undefined);
      accounts.set(u.truth.accountId, [...(accounts.get(u.truth.accountId) ?? []), u]);
    }
    for (const members of accounts.values()) {
      assert.ok(members.length >= 1 && members.length <= 12);
      assert.equal(new Set(members.map((m) => m.truth.archetype)).size, 1, 'the archetype is the account’s');
      assert.equal(members[0]!.truth.role, 'admin');
    }
    for (const u of users) assertLinked(u);
  });

  it('every user identifies and joins its account with a group call', () => {
    for (const u of users) {
      assert.ok(u.events.some((e) => e.type === 'identify'));
      assert.ok(u.events.some((e) => e.type === 'group' && e.groupId === u.truth.accountId));
    }
  });

  it('trials never use the key feature; power users concentrate on one feature', () => {
    const features = (archetype: string) =>
      users
        .filter((u) => u.truth.archetype === archetype)
        .map((u) =>
          u.events.filter((e) => e.event === 'Feature Used').map((e) => String(e.properties?.feature)),
        );
    assert.ok(
      features('trial_never_activates')
        .flat()
        .every((f) => f !== 'reports'),
    );
    const topShare = (list: string[][]) => {
      let top = 0;
      let total = 0;
      for (const uses of list) {
        const counts = new Map<string, number>();
        for (const f of uses) counts.set(f, (counts.get(f) ?? 0) + 1);
        top += Math.max(0, ...counts.values());
        total += uses.length;
      }
      return top / total;
    };
    assert.ok(topShare(features('power_user')) > 0.7, 'power users');
    assert.ok(topShare(features('healthy')) < 0.5, 'healthy users spread their use');
    const perUser = (a: string) => features(a).flat().length / features(a).length;
    assert.ok(perUser('power_user') > 3 * perUser('healthy'));
  });

  it('accounts nearing their limit report usage approaching it', () => {
    const lastShare = (archetype: string) => {
      const shares: number[] = [];
      for (const u of users) {
        if (u.truth.archetype !== archetype) continue;
        const reports = u.events.filter((e) => e.event === 'Usage Reported');
        const last = reports.at(-1)?.properties;
        if (last !== undefined) shares.push(Number(last.usage) / Number(last.limit));
      }
      return shares;
    };
    const nearing = lastShare('nearing_limit');
    assert.ok(nearing.length > 20 && nearing.every((s) => s > 0.8 && s < 1));
    assert.ok(lastShare('healthy').every((s) => s < 0.6));
  });

  it('bills paying admins monthly, which is their truth rate', () => {
    let expected = 0;
    let observed = 0;
    for (const u of users) {
      const invoices = u.events.filter((e) => e.event === 'Order Completed').length;
      if (u.truth.purchaseRatePerDay === 0) assert.equal(invoices, 0);
      expected += u.truth.purchaseRatePerDay * activeDays(u.truth);
      observed += invoices;
    }
    assert.ok(
      observed > 100 && Math.abs(observed / expected - 1) < 0.15,
      `invoices ${observed} vs ${expected}`,
    );
  });
});
