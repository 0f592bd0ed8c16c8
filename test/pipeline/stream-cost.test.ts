import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { modelConfig } from '../../src/model/model-config.js';
import { runRefreshPipeline } from '../../src/pipeline/refresh-pipeline.js';
import { at, HOUR, track } from '../activate/helpers.js';
import { Clock, definitions, send, simulatedStream } from './stream-helpers.js';

/**
 * What a streaming evaluation costs and leaves behind: it recomputes the features of the people concerned only, in
 * one live snapshot (not a snapshot per evaluation), and the refresh log keeps a row per segment per hour, not one
 * per evaluation. The state it leaves is the one a refresh would: a cycle after it changes nothing.
 */
const MINUTE = 60_000;
const REPEATERS = definitions({ name: 'repeaters', where: { feature: 'rfm.frequency', gte: 2 } });

describe('the cost of a streaming evaluation', () => {
  let wh: Warehouse;
  beforeEach(async () => {
    wh = await openWarehouse({ path: ':memory:' });
  });

  /** 40 people with one order each, stored before the stream starts. */
  const population = () =>
    ingestMessages(
      wh,
      Array.from({ length: 40 }, (_, i) =>
        track(`p${i}`, 'Order Completed', at(i * 1000), { properties: { revenue: 5 } }),
      ),
      { source: 'test', receivedAt: at(MINUTE) },
    );

  test("a load recomputes its people's features only, in the one live snapshot", async () => {
    await population();
    const clock = new Clock(at(2 * MINUTE).getTime());
    const { stream, evaluations } = simulatedStream(wh, clock, { segments: REPEATERS, playbook: null });
    await stream.settle();
    assert.equal(evaluations.at(-1)!.featuresRecomputed, 40, 'the first evaluation computes everyone');

    clock.set(at(3 * MINUTE));
    await send(wh, clock, stream, [
      track('p7', 'Order Completed', at(3 * MINUTE), { properties: { revenue: 5 } }),
    ]);
    await stream.settle();
    const last = evaluations.at(-1)!;
    assert.equal(last.reason, 'events');
    assert.equal(last.featuresRecomputed, 1, 'only p7');
    assert.equal(last.evaluated, 1, 'only p7 is evaluated');
    assert.equal(last.entered, 1);
    assert.equal(stream.status().features, 'live');
    const snapshots = await wh.query<{ n: bigint }>('SELECT count(DISTINCT as_of) AS n FROM features');
    assert.equal(Number(snapshots[0]!.n), 1, 'one snapshot, kept current in place');
    const [row] = await wh.query<{ rfm_frequency: bigint }>(
      "SELECT rfm_frequency FROM features WHERE person_id = 'p7'",
    );
    assert.equal(Number(row!.rfm_frequency), 2);
    await stream.stop();
  });

  test('segments reading an RFM score: a whole snapshot per evaluation, and the status says why', async () => {
    await population();
    const clock = new Clock(at(2 * MINUTE).getTime());
    const { stream } = simulatedStream(wh, clock, {
      segments: definitions({ name: 'champions', where: { feature: 'rfm.group', equals: 'Champions' } }),
      playbook: null,
    });
    await stream.settle();
    const status = stream.status();
    assert.equal(status.features, 'snapshot');
    assert.match(status.featuresReason ?? '', /rfm_group/);
    await stream.stop();
  });

  test('the refresh log keeps a row per segment per hour of streaming, with every entry counted', async () => {
    const clock = new Clock(at(0).getTime());
    const { stream } = simulatedStream(wh, clock, {
      segments: definitions({ name: 'buyers', where: { performed: { event: 'Order Completed' } } }),
      playbook: null,
    });
    await stream.settle();
    for (let i = 1; i <= 5; i++) {
      clock.set(at(i * MINUTE));
      await send(wh, clock, stream, [track(`b${i}`, 'Order Completed', at(i * MINUTE))]);
      await stream.settle();
    }
    const log = () =>
      wh.query<{ size: bigint; entered: bigint }>(
        "SELECT size, entered FROM segment_refreshes WHERE segment = 'buyers' ORDER BY refresh_id",
      );
    assert.deepEqual(
      (await log()).map((r) => [Number(r.size), Number(r.entered)]),
      [[5, 5]],
    );
    const evaluations = await wh.query<{ n: bigint }>('SELECT count(*) AS n FROM segment_evaluations');
    assert.equal(Number(evaluations[0]!.n), 1);

    clock.set(at(HOUR + MINUTE));
    await send(wh, clock, stream, [track('b6', 'Order Completed', at(HOUR + MINUTE))]);
    await stream.settle();
    assert.deepEqual(
      (await log()).map((r) => [Number(r.size), Number(r.entered)]),
      [
        [5, 5],
        [6, 1],
      ],
    );
    await stream.stop();
  });

  test('a refresh after streaming finds nothing to change and starts from where the stream left', async () => {
    await population();
    const clock = new Clock(at(2 * MINUTE).getTime());
    const { stream } = simulatedStream(wh, clock, { segments: REPEATERS, playbook: null });
    await stream.settle();
    for (const [i, who] of ['p1', 'p2', 'p3'].entries()) {
      clock.set(at((3 + i) * MINUTE));
      await send(wh, clock, stream, [
        track(who, 'Order Completed', clock.now(), { properties: { revenue: 5 } }),
      ]);
      await stream.settle();
    }
    await stream.stop();
    const cycle = await runRefreshPipeline(wh, {
      asOf: at(10 * MINUTE),
      model: modelConfig(),
      segments: REPEATERS,
      actor: { actor: 'test', source: 'test' },
    });
    assert.equal(cycle.features.mode, 'incremental');
    assert.equal(cycle.segmentRefresh?.mode, 'incremental');
    assert.deepEqual(cycle.segments, [{ name: 'repeaters', size: 3, entered: 0, exited: 0 }]);
  });
});
