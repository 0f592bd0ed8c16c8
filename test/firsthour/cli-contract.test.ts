// Findings of issue 24 ("the first hour") about the CLI's own contract: version, help and exit codes.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { segflow } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

test('segflow --version prints the package version', () => {
  const r = segflow(['--version']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), PACKAGE.version);
});

test('--help gives the --db default order the README gives ($SEGFLOW_DB before db: in the config)', () => {
  const help = segflow(['--help']).stdout.replace(/\s+/g, ' ');
  const readme = README.replace(/\s+/g, ' ');
  assert.match(
    readme,
    /Default: `\$SEGFLOW_DB`, else `db:` in `segflow\.config\.yaml`, else `\.\/segflow\.duckdb`/,
  );
  assert.match(help, /default: \$SEGFLOW_DB, else db in segflow\.config\.yaml, else \.\/segflow\.duckdb/);
});

test('usage errors exit 2 as the README says: --profile b2b, --preset segmnet, --status failed', () => {
  assert.match(README, /usage errors exit 2/);
  const dir = tempDir();
  const file = join(dir, 'events.ndjson');
  writeFileSync(file, '{"type":"track","event":"x","userId":"u","timestamp":"2026-01-01T00:00:00Z"}\n');
  const db = ['--db', join(dir, 'db.duckdb')];
  const cases = [
    [
      'generate',
      '--people',
      '5',
      '--days',
      '5',
      '--seed',
      '1',
      '--profile',
      'b2b',
      '--out',
      join(dir, 'g.ndjson'),
    ],
    ['import', file, '--preset', 'segmnet', ...db],
    ['deliveries', 'list', '--status', 'failed', ...db],
    ['refresh', '--asof', '2026-01-01', ...db],
  ];
  for (const args of cases) {
    const r = segflow(args);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
    assert.match(r.stderr, /error: /);
  }
});

test('--json usage errors still print one JSON error document on stdout (refresh --asof X --json)', () => {
  const dir = tempDir();
  const r = segflow(['refresh', '--asof', 'X', '--json', '--db', join(dir, 'db.duckdb')]);
  assert.equal(r.status, 2);
  const doc = JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } };
  assert.equal(doc.error.code, 'USAGE');
  assert.match(doc.error.message, /unknown option '--asof'/);
  assert.match(doc.error.message, /--as-of/, 'says what was meant');
});
