import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApiKey, revokeApiKey } from '../../src/govern/api-keys.js';
import { startTestServer } from './helpers.js';

/**
 * Every admin API route — read from the server's own OpenAPI document, so routes added later are covered without
 * touching this test — × {no key, write key, read key, admin key, revoked key}: 401 without a valid key, 403 when the
 * role does not allow the route (its documented x-segflow-role), and never 401/403 when it does (the answer may
 * then be 2xx, or a 400/404 for the placeholder parameters).
 */
test('auth matrix: every admin route × no key, write, read, admin, revoked', async () => {
  const server = await startTestServer();
  try {
    const revoked = await createApiKey(server.wh, 'admin');
    await revokeApiKey(server.wh, revoked.id);
    const keys: Record<string, string | null> = {
      none: null,
      write: server.keys.write,
      read: server.keys.read,
      admin: server.keys.admin,
      revoked: revoked.key,
    };
    const paths = (server.openapi as { paths: Record<string, Record<string, { 'x-segflow-role': string }>> })
      .paths;
    let checked = 0;
    for (const [template, methods] of Object.entries(paths)) {
      if (!template.startsWith('/api/v1/')) continue;
      for (const [method, op] of Object.entries(methods)) {
        const role = op['x-segflow-role'];
        assert.ok(role === 'read' || role === 'admin', `${method} ${template} documents its role`);
        const path = template.replace(/\{[^}]+\}/g, 'matrix-placeholder');
        for (const [who, key] of Object.entries(keys)) {
          const r = await fetch(`${server.url}${path}`, {
            method: method.toUpperCase(),
            headers: {
              ...(key ? { authorization: `Bearer ${key}` } : {}),
              ...(method === 'get' || method === 'delete' ? {} : { 'content-type': 'application/json' }),
            },
            ...(method === 'get' || method === 'delete' ? {} : { body: '{}' }),
          });
          await r.arrayBuffer();
          const where = `${method.toUpperCase()} ${template} with ${who}`;
          if (who === 'none' || who === 'revoked') assert.equal(r.status, 401, where);
          else if (who === 'write' || (who === 'read' && role === 'admin'))
            assert.equal(r.status, 403, where);
          else assert.ok(r.status !== 401 && r.status !== 403 && r.status < 500, `${where}: ${r.status}`);
          checked++;
        }
      }
    }
    assert.ok(checked >= 5 * 25, `${checked} combinations checked`);
  } finally {
    await server.close();
  }
});
