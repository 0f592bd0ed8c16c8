// Findings of issue 24 about segment files: one broken file blocked every other segment, with an error that named
// the folder; unknown features and missing inSegment targets were reported only after every other error was fixed.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadDefinitions } from '../../src/segment/load-definitions.js';
import { segflowHere } from '../helpers/cli-in-process.js';
import { tempDir } from '../helpers/temp.js';

function folder(files: Record<string, string>): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'segments'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'segments', name), text);
  return dir;
}

const GOOD = 'name: buyers\nwhere:\n  performed: { event: Order Completed }\n';
const UNKNOWN_FEATURE = 'name: broken\nwhere:\n  feature: rfm.recency_dayz\n  lte: 30\n';

async function importOneEvent(dir: string): Promise<void> {
  writeFileSync(
    join(dir, 'events.ndjson'),
    '{"type":"track","event":"Order Completed","userId":"u1","timestamp":"2026-01-01T00:00:00Z"}\n',
  );
  const r = await segflowHere(['import', 'events.ndjson'], dir);
  assert.equal(r.status, 0, r.stderr);
}

test('one broken segment file blocks preview of only itself, not of every other segment', async () => {
  const dir = folder({ 'buyers.yaml': GOOD, 'broken.yaml': UNKNOWN_FEATURE });
  await importOneEvent(dir);
  const ok = await segflowHere(['segments', 'preview', 'buyers', '--as-of', '2026-01-02', '--json'], dir);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal((JSON.parse(ok.stdout) as { size: number }).size, 1);
  assert.match(ok.stderr, /warning: 1 other segment file has problems \(segments\/broken\.yaml\)/);
  const broken = await segflowHere(['segments', 'preview', 'broken', '--json'], dir);
  assert.equal(broken.status, 1);
  const message = (JSON.parse(broken.stdout) as { error: { message: string } }).error.message;
  assert.match(message, /segments\/broken\.yaml:3 where\.feature: .*there is no feature 'rfm\.recency_dayz'/);
});

test('the error for a broken segment names the file and line, not the folder', async () => {
  const dir = folder({ 'buyers.yaml': GOOD, 'broken.yaml': UNKNOWN_FEATURE });
  const r = await segflowHere(['segments', 'check'], dir);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /segments\/broken\.yaml:3 where\.feature: /);
  assert.doesNotMatch(r.stderr, /^segments \(file\)/m);
});

test('unknown features and missing inSegment targets are reported at load with every other problem, naming the file', () => {
  const dir = folder({
    'a-syntax.yaml': 'name: a\nwhere: { performed: { event: [x }\n',
    'broken.yaml': UNKNOWN_FEATURE,
    'nested.yaml': 'name: nested\nwhere:\n  and:\n    - inSegment: buyerz\n    - performed: { event: x }\n',
    'loop-a.yaml': 'name: loop-a\nwhere:\n  inSegment: loop-b\n',
    'loop-b.yaml': 'name: loop-b\nwhere:\n  notInSegment: loop-a\n',
    'uses-broken.yaml': 'name: uses-broken\nwhere:\n  inSegment: broken\n',
    'buyers.yaml': GOOD,
  });
  const { definitions, problems } = loadDefinitions(join(dir, 'segments'));
  assert.deepEqual(
    definitions.map((d) => d.definition.name),
    ['buyers'],
    'only the good file is usable',
  );
  const by = (file: string) => problems.filter((p) => p.file.endsWith(file));
  assert.equal(by('a-syntax.yaml').length, 1, 'a YAML mistake is one problem');
  assert.match(by('a-syntax.yaml')[0]!.message, /not valid YAML at column \d+/);
  assert.equal(by('a-syntax.yaml')[0]!.line, 2);
  assert.match(
    by('broken.yaml')[0]!.message,
    /there is no feature 'rfm\.recency_dayz'.*did you mean rfm\.recency_days/,
  );
  assert.equal(by('broken.yaml')[0]!.line, 3);
  const nested = by('nested.yaml')[0]!;
  assert.equal(nested.path, 'where.and.0.inSegment');
  assert.equal(nested.line, 4);
  assert.match(nested.message, /refers to segment 'buyerz', which does not exist.* did you mean 'buyers'\?/);
  assert.match(by('loop-a.yaml')[0]!.message, /cycle: loop-a → loop-b → loop-a/);
  assert.match(by('loop-b.yaml')[0]!.message, /cycle: loop-a → loop-b → loop-a/);
  assert.match(
    by('uses-broken.yaml')[0]!.message,
    /refers to segment 'broken' \(.*broken\.yaml\), which has problems/,
  );
});

test('preview of a misspelled segment name says there is no such segment, with did-you-mean', async () => {
  const dir = folder({ 'buyers.yaml': GOOD });
  await importOneEvent(dir);
  const r = await segflowHere(['segments', 'preview', 'buyer', '--json'], dir);
  assert.equal(r.status, 1);
  assert.match(
    (JSON.parse(r.stdout) as { error: { message: string } }).error.message,
    /no segment 'buyer' in segments — did you mean 'buyers'\?/,
  );
});

test("preview shows that segment's SQL only, with the values of its $n parameters", async () => {
  const dir = folder({
    'buyers.yaml': GOOD,
    'other.yaml': 'name: other\nwhere:\n  performed: { event: Something Else }\n',
  });
  await importOneEvent(dir);
  const r = await segflowHere(['segments', 'preview', 'buyers', '--as-of', '2026-01-02'], dir);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /Something Else/);
  assert.match(r.stdout, /^-- \$\d+ = 'Order Completed'$/m);
  const placeholders = new Set(r.stdout.match(/\$\d+/g));
  for (const p of placeholders)
    assert.match(r.stdout, new RegExp(`^-- \\${p} = `, 'm'), `${p} has its value`);
});

test('option typos in a segment (atleast, withn, lable) get "did you mean" and the keys the condition takes', () => {
  const dir = folder({
    'typos.yaml':
      'name: typos\nlable: Typos\nwhere:\n  and:\n    - performed: { event: x, atleast: 2, withn: 7d }\n    - trait: plan\n      equls: pro\n',
  });
  const { problems } = loadDefinitions(join(dir, 'segments'));
  const messages = problems.map((p) => `${p.line} ${p.path}: ${p.message}`);
  const find = (re: RegExp) =>
    assert.ok(
      messages.some((m) => re.test(m)),
      `${re}\n${messages.join('\n')}`,
    );
  find(/^2 lable: unknown key 'lable' \(keys here: name, label, .*\) — did you mean 'label'\?$/);
  find(
    /^5 where\.and\.0\.performed\.atleast: unknown key 'atleast' \(keys here: .*atLeast.*\) — did you mean 'atLeast'\?$/,
  );
  find(/^5 where\.and\.0\.performed\.withn: unknown key 'withn' .* did you mean 'within'\?$/);
  find(/^7 where\.and\.1\.equls: unknown key 'equls' .* did you mean 'equals'\?$/);
  assert.ok(!messages.some((m) => /Unrecognized key/.test(m)), 'no validator text');
});
