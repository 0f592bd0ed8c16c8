import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { exportAudience, listAudienceExports } from '../../../src/activate/destinations/audience-file.js';
import { openWarehouse } from '../../../src/engine/open.js';
import { tempDir } from '../../helpers/temp.js';
import { at, DAY, events, HOUR, identify, refresh, track } from '../helpers.js';

test('audience files: full members, then deltas of who joined and left, as CSV and Parquet', async () => {
  const wh = await openWarehouse({ path: ':memory:' });
  const dir = tempDir();
  try {
    await events(wh, [
      identify('ann', at(0), { email: '  Ann@Example.TEST ', first_name: 'Ann' }),
      identify('bo', at(0), { email: 'bo@example.test', first_name: 'Bo' }),
      track('ann', 'Order Completed', at(HOUR)),
      track('bo', 'Order Completed', at(HOUR)),
    ]);
    await refresh(wh, at(2 * HOUR));
    const full = await exportAudience(wh, {
      segment: 'recent-buyers',
      format: 'csv',
      mode: 'full',
      dir,
      traits: ['first_name'],
      hashedEmail: true,
      asOf: at(2 * HOUR),
    });
    assert.equal(full.rows, 2);
    const csv = await wh.query<Record<string, unknown>>(
      `SELECT * FROM ${wh.dialect.readCsv('?', { header: true })} ORDER BY person_id`,
      [full.path],
    );
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    assert.deepEqual(csv, [
      { person_id: 'ann', first_name: 'Ann', email_sha256: sha('ann@example.test') },
      { person_id: 'bo', first_name: 'Bo', email_sha256: sha('bo@example.test') },
    ]);
    // A week later Bo has left, Cy has joined: the delta says exactly that.
    await events(wh, [
      track('cy', 'Order Completed', at(8 * DAY)),
      track('ann', 'Order Completed', at(6 * DAY)),
    ]);
    await refresh(wh, at(8 * DAY + HOUR));
    const delta = await exportAudience(wh, {
      segment: 'recent-buyers',
      format: 'parquet',
      mode: 'delta',
      dir,
      asOf: at(8 * DAY + HOUR),
    });
    const rows = await wh.query<{ person_id: string; action: string }>(
      `SELECT person_id, action FROM ${wh.dialect.readParquet('?')} ORDER BY person_id`,
      [delta.path],
    );
    assert.deepEqual(rows, [
      { person_id: 'bo', action: 'remove' },
      { person_id: 'cy', action: 'add' },
    ]);
    const again = await exportAudience(wh, {
      segment: 'recent-buyers',
      format: 'csv',
      mode: 'delta',
      dir,
      asOf: at(8 * DAY + HOUR),
    });
    assert.equal(again.rows, 0, 'nothing changed since the last delta');
    assert.deepEqual(
      (await listAudienceExports(wh)).map((e) => [e.mode, e.rows]),
      [
        ['delta', 0],
        ['delta', 2],
        ['full', 2],
      ],
    );
    await assert.rejects(
      exportAudience(wh, { segment: 'nope', format: 'csv', mode: 'full', dir }),
      /no segment 'nope'/,
    );
  } finally {
    await wh.close();
  }
});
