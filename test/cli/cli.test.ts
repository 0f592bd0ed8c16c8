import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { segflow } from '../helpers/cli.js';
import { CDNOW_SAMPLE, tempDir } from '../helpers/temp.js';

function oneJson(stdout: string): unknown {
  // The contract: exactly one JSON document on stdout.
  return JSON.parse(stdout);
}

describe('segflow CLI', () => {
  const dir = tempDir();
  const db = join(dir, 'cli.duckdb');

  test('import --json prints exactly one JSON document; progress and logs stay on stderr', () => {
    const r = segflow(['--db', db, 'import', CDNOW_SAMPLE, '--preset', 'cdnow', '--json'], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    const summary = oneJson(r.stdout) as { inserted: number; rejected: number; format: string };
    assert.equal(summary.inserted, 6919);
    assert.equal(summary.rejected, 0);
    assert.ok(existsSync(db));
  });

  test('sql runs a read-only query and refuses writes with a clear error', () => {
    const ok = segflow([
      '--db',
      db,
      'sql',
      'SELECT count(DISTINCT person_id) AS persons FROM person_events',
      '--json',
    ]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(oneJson(ok.stdout), { columns: ['persons'], rows: [{ persons: 2357 }] });

    const bad = segflow(['--db', db, 'sql', 'DELETE FROM events', '--json']);
    assert.equal(bad.status, 1);
    const err = oneJson(bad.stdout) as { error: { code: string; message: string } };
    assert.equal(err.error.code, 'SQL_NOT_READ_ONLY');
    assert.match(bad.stderr, /only SELECT queries/);
    const still = segflow(['--db', db, 'sql', 'SELECT count(*) AS n FROM events', '--json']);
    assert.deepEqual((oneJson(still.stdout) as { rows: unknown[] }).rows, [{ n: 6919 }]);
  });

  test('persons show resolves any identifier; stats summarises', () => {
    const p = segflow(['--db', db, 'persons', 'show', '00004', '--json']);
    assert.equal(p.status, 0, p.stderr);
    const person = oneJson(p.stdout) as { personId: string; eventCount: number; recentEvents: unknown[] };
    assert.equal(person.personId, '00004');
    assert.equal(person.eventCount, 4);
    assert.equal(person.recentEvents.length, 4);

    const missing = segflow(['--db', db, 'persons', 'show', 'nobody', '--json']);
    assert.equal(missing.status, 1);
    assert.equal((oneJson(missing.stdout) as { error: { code: string } }).error.code, 'NOT_FOUND');

    const s = segflow(['--db', db, 'stats', '--json']);
    const stats = oneJson(s.stdout) as { events: number; persons: number; revenue: number };
    assert.deepEqual([stats.events, stats.persons], [6919, 2357]);
  });

  test('the database comes from --db, else $SEGFLOW_DB, else segflow.config.yaml, else ./segflow.duckdb', () => {
    const work = tempDir();
    const count = (args: string[], env: Record<string, string> = {}) =>
      segflow([...args, 'sql', 'SELECT count(*) AS n FROM events', '--json'], { cwd: work, env });
    // Nothing yet: a read-only query on a missing database says how to fix it.
    const none = count([]);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /no database at \.\/segflow\.duckdb/);

    writeFileSync(join(work, 'segflow.config.yaml'), `db: ${db}\n`);
    assert.deepEqual((oneJson(count([]).stdout) as { rows: unknown[] }).rows, [{ n: 6919 }]);
    const other = join(work, 'other.duckdb');
    assert.equal(
      segflow(['--db', other, 'import', CDNOW_SAMPLE, '--preset', 'cdnow', '--no-rejects', '--json'], {
        cwd: work,
      }).status,
      0,
    );
    assert.deepEqual((oneJson(count([], { SEGFLOW_DB: other }).stdout) as { rows: unknown[] }).rows, [
      { n: 6919 },
    ]);
    const flag = count(['--db', join(work, 'absent.duckdb')], { SEGFLOW_DB: other });
    assert.equal(flag.status, 1, '--db wins over $SEGFLOW_DB');
  });

  test('usage errors exit 2 and say what to do', () => {
    const r = segflow(['import']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /missing required argument 'file'/);
    const bad = segflow(['--db', db, 'import', CDNOW_SAMPLE, '--preset', 'nope', '--json']);
    assert.equal(bad.status, 2);
    assert.match(
      (oneJson(bad.stdout) as { error: { message: string } }).error.message,
      /--preset must be one of segment, cdnow, rees46/,
    );
  });
});

describe('segflow generate', () => {
  test('writes events and ground truth; the same seed gives the same bytes; the file imports cleanly', () => {
    const dir = tempDir();
    const a = join(dir, 'a.ndjson');
    const b = join(dir, 'b.ndjson');
    for (const out of [a, b]) {
      const r = segflow([
        'generate',
        '--people',
        '60',
        '--days',
        '20',
        '--seed',
        '3',
        '--profile',
        'saas',
        '--out',
        out,
        '--json',
      ]);
      assert.equal(r.status, 0, r.stderr);
      const summary = oneJson(r.stdout) as { events: number; people: number; truthPath: string };
      assert.equal(summary.people, 60);
      assert.ok(summary.events > 60);
      assert.ok(existsSync(summary.truthPath));
    }
    assert.equal(readFileSync(a, 'utf8'), readFileSync(b, 'utf8'));
    const db = join(dir, 'g.duckdb');
    const imp = segflow(['--db', db, 'import', a, '--json'], { cwd: dir });
    assert.equal(imp.status, 0, imp.stderr);
    const s = oneJson(imp.stdout) as { rejected: number; inserted: number };
    assert.equal(s.rejected, 0);
    assert.ok(s.inserted > 60);

    const bad = segflow(['generate', '--people', 'lots', '--json']);
    assert.equal(bad.status, 2);
    assert.match(
      (oneJson(bad.stdout) as { error: { message: string } }).error.message,
      /--people must be a positive integer/,
    );
  });
});

test('segflow init scaffolds a project that checks out, and never overwrites', () => {
  const dir = tempDir();
  const first = segflow(['init', '--json'], { cwd: dir });
  assert.equal(first.status, 0, first.stderr);
  assert.equal(JSON.parse(first.stdout).written.length, 6);
  const check = segflow(['playbook', 'check', '--json'], { cwd: dir });
  assert.equal(check.status, 0, check.stderr);
  assert.equal(JSON.parse(check.stdout).plays.length, 5);
  const segments = segflow(['segments', 'check', '--json'], { cwd: dir });
  assert.equal(segments.status, 0, segments.stderr);
  const again = segflow(['init', '--json'], { cwd: dir });
  assert.deepEqual(JSON.parse(again.stdout).written, []);
});
