import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createRng } from '../../src/generate/random.js';
import { tempDir } from '../helpers/temp.js';
import { startTestServer, type TestServer } from './helpers.js';

describe('admin API: fitting propensity models', () => {
  let server: TestServer;
  const dir = tempDir();
  const file = join(dir, 'table.csv');

  before(async () => {
    server = await startTestServer();
    const rng = createRng(4, 0);
    const rows = ['plan,a,b,churned'];
    for (let i = 0; i < 1200; i++) {
      const a = rng.normal();
      const b = rng.normal();
      const z = 1.2 * a - 0.8 * b + (i % 2 ? 0.5 : -0.5);
      rows.push(
        `${i % 2 ? 'pro' : 'free'},${a},${i % 9 === 0 ? '' : b},${rng.chance(1 / (1 + Math.exp(-z))) ? 'Yes' : 'No'}`,
      );
    }
    writeFileSync(file, `${rows.join('\n')}\n`);
  });
  after(() => server.close());

  const call = async (path: string, key: string, body: unknown) => {
    const r = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  };

  test('fit a file with trees, then auto; needs admin; bad requests say what is missing', async () => {
    const forbidden = await call('/api/v1/models/propensity/fit', server.keys.read, {
      file,
      label: 'churned',
    });
    assert.equal(forbidden.status, 403);
    const trees = await call('/api/v1/models/propensity/fit', server.keys.admin, {
      file,
      label: 'churned',
      model: 'gbt',
    });
    assert.equal(trees.status, 200, JSON.stringify(trees.json));
    assert.equal(trees.json.chosen, 'gbt');
    assert.equal(trees.json.crossValidatedAuc, null);
    const auto = await call('/api/v1/models/propensity/fit', server.keys.admin, { file, label: 'churned' });
    assert.equal(auto.status, 200, JSON.stringify(auto.json));
    assert.equal(auto.json.requested, 'auto');
    const cv = auto.json.crossValidatedAuc as { logistic: number; gbt: number };
    assert.equal(auto.json.chosen, cv.gbt > cv.logistic ? 'gbt' : 'logistic');
    assert.ok((auto.json.backtest as { auc: number }).auc > 0.7);
    const stored = await fetch(`${server.url}/api/v1/models/propensity`, {
      headers: { authorization: `Bearer ${server.keys.read}` },
    });
    assert.equal(((await stored.json()) as { id: string }).id, auto.json.fitId);
    const noLabel = await call('/api/v1/models/propensity/fit', server.keys.admin, { file });
    assert.equal(noLabel.status, 400);
    assert.equal(noLabel.json.code, 'REQUEST_INVALID');
    assert.match(String(noLabel.json.message), /needs file and label/);
    const noSnapshots = await call('/api/v1/models/churn/fit', server.keys.admin, { model: 'logistic' });
    assert.equal(noSnapshots.status, 400);
  });
});
