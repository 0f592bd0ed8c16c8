import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { segflow } from '../helpers/cli.js';
import { CDNOW_SAMPLE, tempDir } from '../helpers/temp.js';

test('refresh, features, report rfm and segments check/preview/members from the CLI, each with --json', () => {
  const dir = tempDir('segflow-cli-model-');
  const db = join(dir, 'cli.duckdb');
  const segments = join(dir, 'segments');
  mkdirSync(segments);
  writeFileSync(join(segments, 'rf.yaml'), 'name: rf-high\nwhere:\n  feature: rfm.r + rfm.f\n  gte: 8\n');
  writeFileSync(
    join(segments, 'repeat.yaml'),
    'name: repeat\nwhere:\n  performed: { event: Order Completed, atLeast: 2 }\n',
  );
  const json = (args: string[]) => {
    const r = segflow(['--db', db, ...args, '--json']);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  json(['import', CDNOW_SAMPLE, '--preset', 'cdnow']);

  const check = json(['segments', 'check', '--dir', segments]);
  assert.equal((check.segments as unknown[]).length, 2);

  const refreshed = json(['refresh', '--as-of', '1998-07-01', '--dir', segments]);
  assert.equal((refreshed.features as { persons: number }).persons, 2357);
  // Again at the same time with no new events: every row is carried over, none recomputed; --full recomputes all.
  const again = json(['refresh', '--as-of', '1998-07-01', '--dir', segments]).features as Record<
    string,
    unknown
  >;
  assert.deepEqual([again.mode, again.recomputed, again.persons], ['incremental', 0, 2357]);
  const full = json(['refresh', '--as-of', '1998-07-01', '--dir', segments, '--full']).features as Record<
    string,
    unknown
  >;
  assert.deepEqual([full.mode, full.recomputed], ['full', 2357]);
  // Segments a day later start from the last refresh; --full evaluates everyone.
  const segmentsMode = (args: string[]) => {
    const s = json(['refresh', '--dir', segments, ...args]).segmentRefresh as {
      mode: string;
      recomputed: number;
    };
    return s.mode;
  };
  assert.equal(segmentsMode(['--as-of', '1998-07-02']), 'incremental');
  assert.equal(segmentsMode(['--as-of', '1998-07-03', '--full']), 'full');
  const sizes = Object.fromEntries(
    (refreshed.segments as { name: string; size: number }[]).map((s) => [s.name, s.size]),
  );
  assert.ok(sizes['rf-high']! > 0 && sizes.repeat! > 0, JSON.stringify(sizes));

  const rfm = json(['report', 'rfm']);
  assert.equal(rfm.customers, 2357);
  const person = json(['features', '00004']);
  assert.equal(typeof person.rfm_group, 'string');

  const preview = json(['segments', 'preview', 'repeat', '--as-of', '1998-07-01', '--dir', segments]);
  assert.equal(preview.size, sizes.repeat);
  const members = json(['segments', 'members', 'repeat']);
  assert.equal(members.size, sizes.repeat);

  writeFileSync(join(segments, 'bad.yaml'), 'name: bad\nwhere:\n  inSegment: nowhere\n');
  const bad = segflow(['--db', db, 'segments', 'check', '--dir', segments, '--json']);
  assert.equal(bad.status, 1);
  const err = JSON.parse(bad.stdout) as { error: { code: string; message: string } };
  assert.equal(err.error.code, 'SEGMENT_INVALID');
  assert.match(err.error.message, /nowhere/);
});
