import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { segflow } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

test('keys create prints the key once; list never shows it; revoke marks it revoked', () => {
  const db = join(tempDir('segflow-keys-'), 'keys.duckdb');
  const created = segflow(['--db', db, 'keys', 'create', '--role', 'read', '--name', 'dashboard', '--json']);
  assert.equal(created.status, 0, created.stderr);
  const key = JSON.parse(created.stdout) as { key: string; id: string; role: string; prefix: string };
  assert.equal(key.role, 'read');
  assert.ok(key.key.startsWith(key.prefix));

  const listed = segflow(['--db', db, 'keys', 'list', '--json']);
  assert.equal(listed.status, 0, listed.stderr);
  assert.ok(!listed.stdout.includes(key.key), 'the key itself is never listed');
  assert.deepEqual(
    (JSON.parse(listed.stdout) as { id: string; name: string }[]).map((k) => [k.id, k.name]),
    [[key.id, 'dashboard']],
  );
  // Only the digest is stored: the key's text appears nowhere in the table.
  const stored = segflow(['--db', db, 'sql', 'SELECT * FROM api_keys', '--json']);
  assert.equal(stored.status, 0, stored.stderr);
  assert.ok(!stored.stdout.includes(key.key));

  const revoked = segflow(['--db', db, 'keys', 'revoke', key.id, '--json']);
  assert.equal(revoked.status, 0, revoked.stderr);
  assert.ok((JSON.parse(revoked.stdout) as { revokedAt: string | null }).revokedAt);
  const live = segflow(['--db', db, 'keys', 'list', '--json']);
  assert.deepEqual(JSON.parse(live.stdout), []);

  const bad = segflow(['--db', db, 'keys', 'create', '--role', 'owner', '--json']);
  assert.equal(bad.status, 2);
  assert.equal((JSON.parse(bad.stdout) as { error: { code: string } }).error.code, 'USAGE');
  const missing = segflow(['--db', db, 'keys', 'revoke', 'key_nope', '--json']);
  assert.equal((JSON.parse(missing.stdout) as { error: { code: string } }).error.code, 'NOT_FOUND');
});
