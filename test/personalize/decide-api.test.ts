import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { events, HOUR, refresh, track } from '../activate/helpers.js';
import { segflow } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { startTestServer } from '../server/helpers.js';

const PLAYBOOK = `consent: { default: allow }
plays:
  - { name: banner, segment: recent-buyers, offer: free shipping banner, channel: in_app }
`;

test('GET /api/v1/decide records one exposure per person however often it is asked; asOf and record=false record none', async () => {
  const dir = tempDir();
  const file = join(dir, 'playbook.yaml');
  writeFileSync(file, PLAYBOOK);
  const server = await startTestServer({ playbook: file, dbPath: join(dir, 'api.duckdb') });
  try {
    await events(server.wh, [
      track('ann', 'Order Completed', new Date(Date.now() - HOUR), { properties: { revenue: 5 } }),
    ]);
    await refresh(server.wh, new Date());
    const get = async (query = '') => {
      const r = await fetch(`${server.url}/api/v1/decide/ann${query}`, {
        headers: { authorization: `Bearer ${server.keys.read}` },
      });
      assert.equal(r.status, 200);
      return (await r.json()) as {
        play: { name: string } | null;
        exposures: { play: string; arm: string }[];
        recording: { recorded: boolean; note: string };
      };
    };
    const preview = await get('?record=false');
    assert.equal(preview.play?.name, 'banner');
    assert.equal(preview.recording.recorded, false);
    const backtest = await get(`?asOf=${new Date().toISOString()}`);
    assert.equal(backtest.recording.recorded, false);
    assert.match(backtest.recording.note, /read-only/);
    const answers = [await get(), await get(), await get()];
    assert.deepEqual(
      answers.map((a) => a.exposures.length),
      [1, 0, 0],
    );
    assert.ok(answers.every((a) => a.recording.recorded && a.play?.name === 'banner'));
    await server.exposures.flush();
    await server.exposures.load();
    const rows = await server.wh.query<{ person_id: string; arm: string }>(
      'SELECT person_id, arm FROM exposures',
    );
    assert.deepEqual(rows, [{ person_id: 'ann', arm: 'treatment' }]);
  } finally {
    await server.close();
  }
});

test('segflow decide records the exposure (text and --json); --as-of and --no-record do not', async () => {
  const dir = tempDir();
  const file = join(dir, 'playbook.yaml');
  const db = join(dir, 'cli.duckdb');
  writeFileSync(file, PLAYBOOK);
  const wh = await openWarehouse({ path: db });
  await events(wh, [
    track('bo', 'Order Completed', new Date(Date.now() - HOUR), { properties: { revenue: 5 } }),
  ]);
  await refresh(wh, new Date());
  await wh.close();
  const decide = (...args: string[]) => segflow(['--db', db, 'decide', 'bo', '--playbook', file, ...args]);
  const preview = decide('--no-record');
  assert.equal(preview.status, 0, preview.stderr);
  assert.match(preview.stdout, /exposures: none — read-only/);
  const past = decide('--as-of', new Date().toISOString(), '--json');
  assert.equal((JSON.parse(past.stdout) as { recording: { recorded: boolean } }).recording.recorded, false);
  const first = decide();
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /exposures: banner \(treatment\)/);
  const again = decide('--json');
  assert.deepEqual((JSON.parse(again.stdout) as { exposures: unknown[] }).exposures, []);
  const check = await openWarehouse({ path: db, readOnly: true });
  try {
    const rows = await check.query<{ person_id: string; arm: string }>(
      'SELECT person_id, arm FROM exposures',
    );
    assert.deepEqual(rows, [{ person_id: 'bo', arm: 'treatment' }]);
  } finally {
    await check.close();
  }
});
