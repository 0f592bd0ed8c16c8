// Findings of issue 24 about dates: nothing is guessed, and a time without an offset is UTC on every machine.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseInstant } from '../../src/config/instant.js';
import { segflow } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

function project(): string {
  const dir = tempDir('segflow-dates-');
  const messages = [
    { type: 'track', userId: 'early', event: 'Webinar Joined', timestamp: '2026-03-05T04:30:00Z' },
    { type: 'track', userId: 'late', event: 'Webinar Joined', timestamp: '2026-03-05T05:30:00Z' },
  ];
  writeFileSync(join(dir, 'events.ndjson'), messages.map((m) => JSON.stringify(m)).join('\n'));
  mkdirSync(join(dir, 'segments'));
  writeFileSync(
    join(dir, 'segments', 'joined.yaml'),
    'name: joined\nwhere:\n  performed: { event: Webinar Joined, from: "2026-03-05T05:00:00" }\n',
  );
  assert.equal(segflow(['--db', join(dir, 'db.duckdb'), 'import', 'events.ndjson'], { cwd: dir }).status, 0);
  return dir;
}

test('--as-of 03/01/2026 and 2026-02-30 are refused with the expected format, not guessed', () => {
  const dir = project();
  for (const bad of ['03/01/2026', '2026-02-30', 'March 1']) {
    const r = segflow(['--db', 'db.duckdb', 'segments', 'preview', 'joined', '--as-of', bad], { cwd: dir });
    assert.equal(r.status, 2, `${bad}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`--as-of '${bad}' is not a date`));
    assert.match(r.stderr, /ISO-8601, e\.g\. 2026-03-01 or 2026-03-01T12:00:00Z \(UTC when no offset\)/);
  }
  assert.equal(parseInstant('2024-02-29')?.toISOString(), '2024-02-29T00:00:00.000Z', 'a leap day is a day');
  assert.equal(parseInstant('2026-03-01T12:00:00+02:00')?.toISOString(), '2026-03-01T10:00:00.000Z');
});

test('segments\' from: "2026-03-05T05:00:00" is accepted and read as UTC (as docs/segments.md says), and so is --as-of, in any time zone', () => {
  assert.match(
    readFileSync(new URL('../../docs/segments.md', import.meta.url), 'utf8'),
    /UTC when no offset/,
  );
  const dir = project();
  const env = { TZ: 'America/New_York' };
  const check = segflow(['segments', 'check', '--dir', 'segments'], { cwd: dir, env });
  assert.equal(check.status, 0, check.stderr);
  const r = segflow(
    ['--db', 'db.duckdb', 'segments', 'preview', 'joined', '--as-of', '2026-03-06T00:00:00', '--json'],
    { cwd: dir, env },
  );
  assert.equal(r.status, 0, r.stderr);
  const p = JSON.parse(r.stdout) as { asOf: string; size: number; sample: string[] };
  assert.equal(p.asOf, '2026-03-06T00:00:00.000Z');
  assert.equal(p.size, 1, 'only the event after 05:00 UTC counts');
  assert.equal(p.sample.length, 1);
});
