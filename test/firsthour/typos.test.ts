// Findings of issue 24 where a mistake was silently ignored or misreported.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { segflowHere } from '../helpers/cli-in-process.js';
import { tempDir } from '../helpers/temp.js';

test('a misspelled config key (modle:) is an error that names it and suggests model, not a setting ignored', async () => {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'segflow.config.yaml'),
    'db: ./segflow.duckdb\nmodle:\n  purchase: { events: [Purchased] }\n',
  );
  const r = await segflowHere(['stats', '--json'], dir);
  assert.equal(r.status, 1);
  const e = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
  assert.equal(e.code, 'CONFIG_INVALID');
  assert.match(e.message, /modle: not a configuration key — did you mean 'model'\?/);
  // Every documented section is still accepted.
  writeFileSync(
    join(dir, 'segflow.config.yaml'),
    'db: ./segflow.duckdb\nsegments: ./segments\nplaybook: ./playbook.yaml\nmodel: {}\nmeasure: {}\nretention: {}\n',
  );
  const fine = await segflowHere(['stats', '--json'], dir);
  assert.match(
    fine.stdout,
    /no database at \.\/segflow\.duckdb/,
    'the config is read; only the database is missing',
  );
});

test('a JSON array file is refused with a hint to use NDJSON, not imported as "rejected 1"', async () => {
  const dir = tempDir();
  const messages = [
    { type: 'track', userId: 'u1', event: 'Signed Up', timestamp: '2026-01-01T00:00:00Z' },
    { type: 'track', userId: 'u2', event: 'Signed Up', timestamp: '2026-01-02T00:00:00Z' },
  ];
  writeFileSync(join(dir, 'events.json'), JSON.stringify(messages, null, 2));
  const r = await segflowHere(['--db', 'db.duckdb', 'import', 'events.json', '--json'], dir);
  assert.equal(r.status, 1);
  const e = (JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } }).error;
  assert.equal(e.code, 'IMPORT_FILE_UNREADABLE');
  assert.match(e.message, /is one JSON array; segflow imports NDJSON, one message per line/);
  assert.match(e.hint, /jq -c '\.\[\]' events\.json > events\.ndjson/);
  assert.ok(!existsSync(join(dir, 'events.json.rejects.ndjson')), 'nothing rejected row by row');
  // The same messages as NDJSON import.
  writeFileSync(join(dir, 'events.ndjson'), messages.map((m) => JSON.stringify(m)).join('\n'));
  const ok = await segflowHere(['--db', 'db.duckdb', 'import', 'events.ndjson', '--json'], dir);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal((JSON.parse(ok.stdout) as { inserted: number }).inserted, 2);
});
