import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eraseClickHouseDeletes } from '../../src/engine/clickhouse/clickhouse-erase.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { at, track } from '../activate/helpers.js';
import { ENGINES } from '../helpers/engines.js';

/**
 * The chdb erasure step when an earlier run was killed between its swap and its drop: the old table, deleted rows and
 * all, is left under the copy's name (`_sf_erase_<table>`) while the table itself is the clean copy, which has no
 * mutations and so is not among the tables to rewrite. The next run must remove the leftover first.
 */
const chdb = ENGINES.find((e) => e.name === 'clickhouse');

test('chdb: a leftover of an erasure killed between its swap and its drop is removed by the next run', {
  skip: chdb ? false : 'ClickHouse is not among SEGFLOW_TEST_ENGINES',
}, async () => {
  const wh = await chdb!.open();
  try {
    await ingestMessages(
      wh,
      [track('keep-1', 'Order Completed', at(0)), track('gone-1', 'Order Completed', at(0))],
      {
        source: 'test',
      },
    );
    // What the killed run left: the old audit_log under the copy's name, still holding a deleted person's row.
    await wh.run('CREATE TABLE _sf_erase_audit_log AS audit_log');
    await wh.run(
      `INSERT INTO _sf_erase_audit_log (id, occurred_at, actor, action, target) VALUES (1, now(), 'cli:test', 'privacy.delete', 'gone-1')`,
    );
    const leftovers = () =>
      wh.query<{ name: string }>(
        "SELECT name FROM system.tables WHERE database = currentDatabase() AND startsWith(name, '_sf_erase_')",
      );
    assert.equal((await leftovers()).length, 1);
    await eraseClickHouseDeletes(wh, 'rewrite');
    assert.deepEqual(await leftovers(), [], 'the leftover table is gone');
    const events = await wh.query<{ user_id: string }>('SELECT user_id FROM events ORDER BY user_id');
    assert.deepEqual(
      events.map((e) => e.user_id),
      ['gone-1', 'keep-1'],
      'the tables themselves are untouched (nothing was deleted from them)',
    );
  } finally {
    await wh.close();
  }
});
