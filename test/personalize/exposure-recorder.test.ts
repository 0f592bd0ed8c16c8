import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { parsePlaybook } from '../../src/activate/playbook.js';
import { openWarehouse } from '../../src/engine/open.js';
import { ExposureRecorder } from '../../src/personalize/exposure-recorder.js';
import type { Exposure } from '../../src/personalize/exposures.js';
import { tempDir } from '../helpers/temp.js';

const pb = parsePlaybook(`
plays:
  - { name: banner, segment: everyone, offer: hello, channel: in_app, holdout: 0.1 }
`);

const exposure = (i: number): Exposure => ({
  play: 'banner',
  personId: `p${i}`,
  arm: i % 10 === 0 ? 'holdout' : 'treatment',
  variant: null,
  exposedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
  key: `decide:banner:p${i}`,
});

test('exposures flushed to the log but never loaded (a crash) are loaded when the next recorder opens, each once', async () => {
  const dir = tempDir();
  const wh = await openWarehouse({ path: join(dir, 'r.duckdb') });
  const logDir = join(dir, 'r.duckdb.exposures');
  try {
    const crashed = new ExposureRecorder(wh, { logDir, flushMs: 1_000_000, loadMs: 1_000_000 });
    await crashed.open();
    await crashed.lastExposed();
    crashed.record(
      pb,
      Array.from({ length: 300 }, (_, i) => exposure(i)),
    );
    await crashed.flush(); // in the log, fsync'd; the loader never runs: the process "dies" here
    const count = async () =>
      Number((await wh.query<{ n: number }>('SELECT count(*) AS n FROM exposures'))[0]?.n);
    assert.equal(await count(), 0);

    const restarted = new ExposureRecorder(wh, { logDir });
    assert.deepEqual(await restarted.open(), { replayed: 300 });
    assert.equal(await count(), 300);
    // The same exposures again (a client retrying, a replay): still one each.
    restarted.record(
      pb,
      Array.from({ length: 300 }, (_, i) => exposure(i)),
    );
    await restarted.close();
    assert.equal(await count(), 300);

    const again = new ExposureRecorder(wh, { logDir });
    assert.deepEqual(await again.open(), { replayed: 0 }, 'the loaded position was recorded with the load');
    const last = await again.lastExposed();
    assert.equal(last.get('p7')?.get('banner')?.getTime(), exposure(7).exposedAt.getTime());
    await again.close();
    const arms = await wh.query<{ arm: string; n: number }>(
      'SELECT arm, count(*) AS n FROM exposures GROUP BY arm ORDER BY arm',
    );
    assert.deepEqual(
      arms.map((a) => [a.arm, Number(a.n)]),
      [
        ['holdout', 30],
        ['treatment', 270],
      ],
    );
  } finally {
    await wh.close();
  }
});
