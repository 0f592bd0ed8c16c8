import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { modelConfig } from '../../src/model/model-config.js';
import { fitPropensity } from '../../src/model/propensity/propensity.js';
import { simulateChurnPanel } from '../../src/model/propensity/simulate-churn.js';
import { startTestServer, type TestServer } from './helpers.js';

const DAY = 86_400_000;

describe('admin API: predictive models', () => {
  let server: TestServer;
  const panel = simulateChurnPanel({ people: 600, periods: 5, seed: 9 });
  const at = (day: number) => new Date(panel.start.getTime() + day * DAY);

  before(async () => {
    server = await startTestServer();
    await ingestMessages(server.wh, panel.messages, { source: 'test' });
    await fitPropensity(server.wh, {
      target: 'churn',
      horizon: '30d',
      trainAsOf: [at(60), at(90)],
      testAsOf: at(120),
      config: modelConfig({}),
    });
  });
  after(() => server.close());

  const call = async (method: string, path: string, key: string, body?: unknown) => {
    const r = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  };

  test('the last fit with its backtest; scoring needs admin; a person’s scores', async () => {
    const fit = await call('GET', '/api/v1/models/churn', server.keys.read);
    assert.equal(fit.status, 200);
    assert.equal(fit.json.model, 'churn');
    const auc = (fit.json.diagnostics as { backtest: { auc: number } }).backtest.auc;
    assert.ok(auc > 0.5 && auc < 1);
    const missing = await call('GET', '/api/v1/models/bgnbd', server.keys.read);
    assert.equal(missing.status, 404);
    const forbidden = await call('POST', '/api/v1/models/churn/score', server.keys.read, {
      asOf: at(150).toISOString(),
    });
    assert.equal(forbidden.status, 403);
    const scored = await call('POST', '/api/v1/models/churn/score', server.keys.admin, {
      asOf: at(150).toISOString(),
    });
    assert.equal(scored.status, 200, JSON.stringify(scored.json));
    const [someone] = await server.wh.query<{ person_id: string; value: number }>(
      `SELECT person_id, value FROM person_scores WHERE score = 'churn_probability' ORDER BY person_id LIMIT 1`,
    );
    const scores = await call('GET', `/api/v1/persons/${someone!.person_id}/scores`, server.keys.read);
    assert.equal(scores.status, 200);
    const list = scores.json.scores as { score: string; value: number }[];
    assert.deepEqual(
      list.map((s) => [s.score, s.value]),
      [['churn_probability', someone!.value]],
    );
    const nobody = await call('GET', '/api/v1/persons/nobody-here/scores', server.keys.read);
    assert.equal(nobody.status, 404);
  });
});
