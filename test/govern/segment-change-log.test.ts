import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { recordAudit, segmentChangeLog } from '../../src/govern/audit.js';

test("a segment's change log: its own segment.* entries, newest first; nothing about other targets or actions", async () => {
  const wh = await openWarehouse({ path: ':memory:' });
  try {
    const at = (minute: number) => new Date(Date.UTC(2026, 4, 1, 12, minute));
    const entries = [
      { action: 'segment.create', target: 'vip', detail: { version: 1, previous: null } },
      { action: 'segment.create', target: 'vip-lapsed', detail: { version: 1, previous: null } },
      { action: 'person.read', target: 'vip' }, // a person whose id happens to be the segment's name
      { action: 'segment.file.change', target: 'vip', detail: { file: 'segments/vip.yaml' } },
      { action: 'segment.change', target: 'vip', detail: { version: 2, previous: 1 } },
      { action: 'play.change', target: 'vip' },
      { action: 'segment.retire', target: 'vip', detail: { reasons: ['empty'] } },
    ];
    for (const [i, e] of entries.entries()) await recordAudit(wh, { actor: 'cli:test', ...e, at: at(i) });
    const log = await segmentChangeLog(wh, 'vip');
    assert.deepEqual(
      log.map((r) => r.action),
      ['segment.retire', 'segment.change', 'segment.file.change', 'segment.create'],
    );
    assert.deepEqual(JSON.parse(log[1]!.detail!), { version: 2, previous: 1 });
    assert.deepEqual(
      (await segmentChangeLog(wh, 'vip', 2)).map((r) => r.action),
      ['segment.retire', 'segment.change'],
    );
    assert.deepEqual(await segmentChangeLog(wh, 'nobody'), []);
  } finally {
    await wh.close();
  }
});
