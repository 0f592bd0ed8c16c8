import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { featureSource } from '../../src/model/feature-catalog.js';
import { modelConfig } from '../../src/model/model-config.js';
import { refreshFeatures } from '../../src/model/refresh-features.js';
import { loadDefinitions } from '../../src/segment/load-definitions.js';
import { refreshSegments } from '../../src/segment/memberships.js';
import {
  checkSegmentDraft,
  estimateSegmentDraft,
  saveSegmentDraft,
} from '../../src/segment/segment-draft.js';
import { tempDir } from '../helpers/temp.js';

const DAY = 86_400_000;
const asOf = new Date('2026-03-31T00:00:00Z');

test('a draft is checked as segments check checks a file: schema problems at their path and line, references', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'buyers.yaml'), 'name: buyers\nwhere:\n  performed: { event: Order Completed }\n');
  const bad = checkSegmentDraft(dir, 'name: x\nwhere:\n  performed: { event: A, within: soon }\n');
  assert.equal(bad.problems.length, 1);
  assert.equal(bad.problems[0]!.path, 'where.performed.within');
  assert.equal(bad.problems[0]!.line, 3);
  const unknown = checkSegmentDraft(dir, 'name: x\nwhere:\n  inSegment: nobody-by-that-name\n');
  assert.match(unknown.problems[0]?.message ?? '', /nobody-by-that-name/);
  const ok = checkSegmentDraft(dir, 'name: repeat\nwhere:\n  inSegment: buyers\n');
  assert.deepEqual(ok.problems, []);
  assert.equal(ok.file, join(dir, 'repeat.yaml'));
});

test("a draft's estimate equals the members a refresh of the saved file gives", async () => {
  const dir = tempDir();
  const wh = await openWarehouse({ path: ':memory:' });
  try {
    const messages = [];
    for (let i = 0; i < 40; i++) {
      for (let k = 0; k < i % 4; k++) {
        messages.push({
          type: 'track',
          event: 'Order Completed',
          userId: `u${i}`,
          properties: { revenue: 10 + k },
          timestamp: new Date(asOf.getTime() - (k + 1 + i) * DAY).toISOString(),
        });
      }
      messages.push({
        type: 'track',
        event: 'Product Viewed',
        userId: `u${i}`,
        timestamp: new Date(asOf.getTime() - DAY).toISOString(),
      });
    }
    await ingestMessages(wh, messages, { source: 'test' });
    await refreshFeatures(wh, modelConfig(), { asOf });
    const draft =
      'name: twice\nlabel: Bought twice\nwhere:\n  performed: { event: Order Completed, atLeast: 2, within: 30d }\n';
    const estimate = await estimateSegmentDraft(wh, dir, draft, { sample: 5 });
    assert.equal(estimate.asOf.toISOString(), asOf.toISOString());
    assert.ok(estimate.size > 0 && estimate.size < 40);
    const saved = saveSegmentDraft(dir, draft);
    assert.equal(saved.created, true);
    assert.equal(readFileSync(saved.file, 'utf8'), draft);
    const refreshed = await refreshSegments(wh, loadDefinitions(dir).definitions, {
      asOf,
      features: featureSource(wh.dialect),
    });
    assert.equal(refreshed.segments.find((s) => s.name === 'twice')!.size, estimate.size);
    const members = await wh.query<{ person_id: string }>(
      `SELECT person_id FROM segment_memberships WHERE segment = 'twice' AND exited_at IS NULL
       ORDER BY person_id LIMIT 5`,
    );
    assert.deepEqual(
      estimate.sample,
      members.map((m) => m.person_id),
      'the sample: the first members by id',
    );
    // A draft that refers to a saved segment is sized with it (only the draft's column is evaluated).
    const others = await estimateSegmentDraft(
      wh,
      dir,
      'name: not-twice\nwhere:\n  not: { inSegment: twice }\n',
    );
    assert.equal(others.population, estimate.population);
    assert.equal(others.size, estimate.population - estimate.size);
    const none = await estimateSegmentDraft(wh, dir, 'name: none\nwhere:\n  performed: { event: Never }\n');
    assert.deepEqual([none.size, none.sample], [0, []]);
    assert.equal(saveSegmentDraft(dir, draft.replace('atLeast: 2', 'atLeast: 3')).created, false);
    assert.throws(() => saveSegmentDraft(dir, 'name: Bad Name\nwhere: {}\n'), /SEGMENT_INVALID|name/);
  } finally {
    await wh.close();
  }
});
