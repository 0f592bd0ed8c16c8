import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { at, HOUR, identify, type Receiver, startReceiver, track } from '../activate/helpers.js';
import { Clock, definitions, send, simulatedStream, webhookPlaybook } from './stream-helpers.js';

/**
 * Streaming evaluation on a simulated clock: the stream is told about new events and settled at chosen times; what it
 * records (memberships, deliveries) and what a real webhook receiver on 127.0.0.1 got are checked against times worked
 * out by hand from docs/segments.md.
 */
const MINUTE = 60_000;

const ABANDONERS = {
  name: 'abandoners',
  where: {
    sequence: { steps: [{ event: 'Checkout Started' }], thenNot: { event: 'Order Completed', within: '1h' } },
  },
};
const BUYERS = { name: 'recent-buyers', where: { performed: { event: 'Order Completed', within: '7d' } } };
const PRICING = { name: 'pricing-twice', where: { performed: { page: 'Pricing', atLeast: 2 } } };

describe('streaming evaluation on a simulated clock', () => {
  let receiver: Receiver;
  let wh: Warehouse;
  before(async () => {
    receiver = await startReceiver();
  });
  after(() => receiver.close());
  beforeEach(async () => {
    wh = await openWarehouse({ path: ':memory:' });
    receiver.requests.length = 0;
    receiver.ids.clear();
  });

  const deliveries = (play: string) =>
    wh.query<{ person_id: string; trigger: string; occurred_at: Date; status: string }>(
      'SELECT person_id, trigger, occurred_at, status FROM deliveries WHERE play = ? ORDER BY occurred_at, person_id',
      [play],
    );
  const members = async (segment: string) =>
    (
      await wh.query<{ person_id: string }>(
        'SELECT person_id FROM segment_memberships WHERE segment = ? AND exited_at IS NULL ORDER BY person_id',
        [segment],
      )
    ).map((r) => r.person_id);

  /** A stream on a simulated clock at at(0) over the abandoners segment, with its webhook play `recover`. */
  const abandonersWithRecoverPlay = (options?: { behindAfterMs: number }) => {
    const clock = new Clock(at(0).getTime());
    const playbook = webhookPlaybook(receiver, [
      '{ name: recover, segment: abandoners, offer: 10% off, channel: webhook, destination: hook }',
    ]);
    const { stream, evaluations } = simulatedStream(wh, clock, {
      segments: definitions(ABANDONERS),
      playbook,
      ...(options ? { options } : {}),
    });
    return { clock, stream, evaluations };
  };

  test('an abandonment fires when its wait ends: not earlier, not twice', async () => {
    const { clock, stream, evaluations } = abandonersWithRecoverPlay();
    await stream.settle(); // the play starts from now

    const started = at(MINUTE);
    clock.set(started);
    await send(wh, clock, stream, [
      track('ann', 'Checkout Started', started),
      track('bob', 'Checkout Started', started),
    ]);
    await stream.settle();
    clock.set(at(MINUTE + 10 * MINUTE));
    await send(wh, clock, stream, [track('bob', 'Order Completed', at(MINUTE + 10 * MINUTE))]);
    await stream.settle();

    const due = new Date(started.getTime() + HOUR);
    clock.set(new Date(due.getTime() - 1));
    await stream.settle();
    assert.deepEqual(await deliveries('recover'), [], 'nothing before the wait is over');
    assert.equal(receiver.requests.length, 0);

    clock.set(new Date(due.getTime() + 1));
    await stream.settle();
    assert.deepEqual(await deliveries('recover'), [
      { person_id: 'ann', trigger: 'enter', occurred_at: due, status: 'sent' },
    ]);
    const edge = evaluations.find((e) => e.reason === 'edge' && e.entered > 0);
    assert.equal(edge?.asOf.getTime(), due.getTime(), 'evaluated as of the moment the wait ended');
    assert.equal(receiver.requests.length, 1);
    assert.equal(JSON.parse(receiver.requests[0]!.body).person.id, 'ann');

    for (const later of [2 * HOUR, 5 * HOUR, 30 * HOUR]) {
      clock.set(at(later));
      await stream.settle();
    }
    assert.equal((await deliveries('recover')).length, 1, 'not twice');
    assert.equal(receiver.requests.length, 1);
    assert.deepEqual(await members('abandoners'), ['ann']);
    await stream.stop();
  });

  test('behind: overdue waits and new events are decided by one evaluation as of now, each once', async () => {
    // Five abandonments whose waits end a minute apart, and the clock already 30 s past the last of them (as when
    // evaluations take longer than edges arrive; well within the 5 minutes after which any stream catches up): behind, the stream does not evaluate as of each due time in
    // turn but once as of now, with the order that came in meanwhile; the result is what a full refresh says then.
    const { clock, stream, evaluations } = abandonersWithRecoverPlay({ behindAfterMs: 1_000 });
    await stream.settle();
    const people = ['p1', 'p2', 'p3', 'p4', 'p5'];
    for (const [i, person] of people.entries()) {
      const started = at(MINUTE + i * MINUTE);
      clock.set(started);
      await send(wh, clock, stream, [track(person, 'Checkout Started', started)]);
      await stream.settle();
    }
    const now = at(MINUTE + 4 * MINUTE + HOUR + 30_000);
    clock.set(now);
    await send(wh, clock, stream, [track('p6', 'Checkout Started', now)]);
    const before = evaluations.length;
    await stream.settle();
    const turns = evaluations.slice(before);
    assert.equal(
      turns.length,
      1,
      `one evaluation, not one per due time: ${turns.map((e) => e.reason).join(', ')}`,
    );
    assert.equal(turns[0]!.asOf.getTime(), now.getTime());
    assert.equal(turns[0]!.entered, 5);
    assert.deepEqual(
      (await deliveries('recover')).map((d) => [d.person_id, d.occurred_at.getTime()]),
      people.map((p) => [p, now.getTime()]),
    );
    assert.equal(receiver.requests.length, 5, 'each sent once');
    assert.deepEqual(await members('abandoners'), people);
    // Settling again finds nothing left: the new checkout's wait has not ended.
    await stream.settle();
    assert.equal(evaluations.length, before + 1);
    await stream.stop();
  });

  test('an edge concerns only the events its condition compares: other events bring no evaluation at their time + W', async () => {
    // The abandonment's wait ends an hour after a checkout; an hour after a product view or a pricing page nothing can
    // change, so the stream must not evaluate then (at a million people each evaluation costs seconds).
    const { clock, stream, evaluations } = abandonersWithRecoverPlay();
    await stream.settle();
    const viewed = at(MINUTE);
    clock.set(viewed);
    await send(wh, clock, stream, [
      track('ann', 'Product Viewed', viewed),
      track('bob', 'Product Viewed', viewed),
      { type: 'page', name: 'Pricing', userId: 'cat', timestamp: viewed.toISOString(), messageId: 'pv1' },
    ]);
    await stream.settle();
    const started = at(2 * MINUTE);
    clock.set(started);
    await send(wh, clock, stream, [track('ann', 'Checkout Started', started)]);
    await stream.settle();
    assert.equal(
      stream.status().nextDue?.getTime(),
      started.getTime() + HOUR,
      'the checkout is the next edge',
    );
    assert.equal(stream.status().dueEdges, 1);

    const before = evaluations.length;
    clock.set(at(2 * MINUTE + HOUR + 1));
    await stream.settle();
    const turns = evaluations.slice(before);
    assert.deepEqual(
      turns.map((e) => [e.reason, e.asOf.getTime()]),
      [['edge', started.getTime() + HOUR]],
      'one evaluation, at the end of the wait; none an hour after the views',
    );
    assert.deepEqual(await members('abandoners'), ['ann']);
    await stream.stop();
  });

  test('a window expiry removes a member with no new event, and its exit play fires then', async () => {
    const clock = new Clock(at(0).getTime());
    const pb = webhookPlaybook(receiver, [
      '{ name: welcome, segment: recent-buyers, offer: thanks, channel: webhook, destination: hook }',
      '{ name: miss-you, segment: recent-buyers, trigger: { on: exit }, offer: come back, channel: webhook, destination: hook }',
    ]);
    const { stream } = simulatedStream(wh, clock, { segments: definitions(BUYERS), playbook: pb });
    await stream.settle();
    const bought = at(HOUR);
    clock.set(bought);
    await send(wh, clock, stream, [track('cid', 'Order Completed', bought, { properties: { revenue: 5 } })]);
    await stream.settle();
    assert.deepEqual(await members('recent-buyers'), ['cid']);

    const expiry = new Date(bought.getTime() + 7 * 24 * HOUR);
    clock.set(new Date(expiry.getTime() - 1));
    await stream.settle();
    assert.deepEqual(await members('recent-buyers'), ['cid'], 'still a member just before the window ends');

    clock.set(new Date(expiry.getTime() + 5_000));
    await stream.settle();
    assert.deepEqual(await members('recent-buyers'), [], 'gone with no new event');
    const [row] = await wh.query<{ exited_at: Date }>(
      "SELECT exited_at FROM segment_memberships WHERE segment = 'recent-buyers' AND person_id = 'cid'",
    );
    assert.equal(row!.exited_at.getTime(), expiry.getTime(), 'exited at the edge itself');
    assert.deepEqual(await deliveries('miss-you'), [
      { person_id: 'cid', trigger: 'exit', occurred_at: expiry, status: 'sent' },
    ]);
    assert.equal(receiver.requests.length, 2, 'one enter and one exit delivery');
    await stream.stop();
  });

  test('a merge moves a person into a segment at the load that merged them', async () => {
    const clock = new Clock(at(0).getTime());
    const pb = webhookPlaybook(receiver, [
      '{ name: pricing-call, segment: pricing-twice, offer: a call, channel: webhook, destination: hook }',
    ]);
    const { stream } = simulatedStream(wh, clock, { segments: definitions(PRICING), playbook: pb });
    await stream.settle();
    clock.set(at(HOUR));
    await send(wh, clock, stream, [
      {
        type: 'page',
        name: 'Pricing',
        anonymousId: 'anon-1',
        timestamp: at(HOUR).toISOString(),
        messageId: 'p1',
      },
      { type: 'page', name: 'Pricing', userId: 'dee', timestamp: at(HOUR).toISOString(), messageId: 'p2' },
    ]);
    await stream.settle();
    assert.deepEqual(await members('pricing-twice'), [], 'one view each: nobody yet');

    clock.set(at(2 * HOUR));
    await send(wh, clock, stream, [{ ...identify('dee', at(2 * HOUR)), anonymousId: 'anon-1' }]);
    await stream.settle();
    assert.deepEqual(await members('pricing-twice'), ['dee']);
    assert.deepEqual(await deliveries('pricing-call'), [
      { person_id: 'dee', trigger: 'enter', occurred_at: at(2 * HOUR), status: 'sent' },
    ]);
    assert.equal(receiver.requests.length, 1);
    await stream.stop();
  });

  test('restarting rebuilds the due-time queue from the warehouse', async () => {
    const clock = new Clock(at(0).getTime());
    const pb = webhookPlaybook(receiver, [
      '{ name: recover, segment: abandoners, offer: 10% off, channel: webhook, destination: hook }',
    ]);
    const first = simulatedStream(wh, clock, { segments: definitions(ABANDONERS), playbook: pb });
    await first.stream.settle();
    clock.set(at(MINUTE));
    await send(wh, clock, first.stream, [track('eve', 'Checkout Started', at(MINUTE))]);
    await first.stream.settle();
    await first.stream.stop();

    // A new process: nothing in memory but the warehouse.
    const second = simulatedStream(wh, clock, { segments: definitions(ABANDONERS), playbook: pb });
    await second.stream.settle();
    assert.equal(second.stream.status().dueEdges, 1, "eve's wait is in the rebuilt queue");
    assert.equal(second.stream.status().nextDue?.getTime(), at(MINUTE + HOUR).getTime());
    clock.set(at(MINUTE + HOUR + 1));
    await second.stream.settle();
    assert.deepEqual(await deliveries('recover'), [
      { person_id: 'eve', trigger: 'enter', occurred_at: at(MINUTE + HOUR), status: 'sent' },
    ]);
    await second.stream.stop();
  });
});
