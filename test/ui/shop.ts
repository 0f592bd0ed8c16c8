import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { runActivation } from '../../src/activate/activate-run.js';
import { cachedPlaybook } from '../../src/activate/playbook-file.js';
import { openWarehouse } from '../../src/engine/open.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { writeGeneratedFiles } from '../../src/generate/index.js';
import { createApiKey } from '../../src/govern/api-keys.js';
import { importFile } from '../../src/instrument/import/import-file.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { modelConfig } from '../../src/model/model-config.js';
import { fitClusterModel, fitPurchaseModel } from '../../src/model/predict/model-fits.js';
import { scorePredictions } from '../../src/model/predict/score.js';
import { fitPropensity } from '../../src/model/propensity/propensity.js';
import { runCycle } from '../../src/pipeline/cycle.js';
import { buildServer, type SegflowServer } from '../../src/server/app.js';
import { playWithKnownLift } from '../helpers/play-with-lift.js';

/**
 * A generated shop behind a real server, for the browser tests: simulated people and events up to now, a few of the
 * example segments, a playbook without destinations (decide() only) and a play that has run with a known lift
 * (test/helpers/play-with-lift.ts), a webhook play whose deliveries die (nothing listens), one loop turn, BG/NBD and
 * Gamma-Gamma fits and everyone scored, a churn model with its backtest, clusters of the buyers — and
 * XSS canaries planted in traits, an event name, a property and a segment label.
 */
export const CANARY = {
  trait: '<script>window.__xss = 1; alert("trait")</script>',
  company: '"><img src=x onerror=alert("company")>',
  event: '<img src=x onerror=alert("event")>',
  property: '<script>alert("property")</script>',
  label: '"><img src=x onerror=alert("label")><script>alert("label")</script>',
  userId: 'xss-canary-user',
  email: 'canary@shop.example',
};

const EXAMPLES = new URL('../../examples/segments/', import.meta.url).pathname;
/** A webhook that refuses every connection (nothing listens on its port): its deliveries die on the first try. */
const playbookText = (deadPort: number) => `timezone: UTC
consent: { default: allow }
retry: { max_attempts: 1 }
destinations:
  nowhere:
    type: webhook
    url: http://127.0.0.1:${deadPort}/hook
    secret: whsec_c2VnZmxvdyBleGFtcGxlIHNlY3JldCAzMiBieXRlcyE=
    timeoutMs: 2000
plays:
  - name: vip-hook
    segment: champion
    offer: vip call
    channel: webhook
    destination: nowhere
  - name: champion-perks
    segment: champion
    offer: loyalty perks
    channel: email
    cadence: once per entry
    kpi: conversion_rate
    holdout: 0.1
  - name: win-back
    segment: win-back
    offer: 15% off
    channel: email
    holdout: 0.2
  - name: spring-perks
    segment: champion
    offer: spring perks
    channel: email
    kpi: conversion_rate
    holdout: 0.1
  - name: checkout-nudge
    segment: checkout-abandoners
    offer: free shipping
    channel: in_app
    trigger: { on: enter }
`;

/** A port nothing listens on: one the system gave a server that has closed since. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Shop {
  server: SegflowServer & { url: string };
  wh: Warehouse;
  segmentsDir: string;
  keys: { write: string; read: string; admin: string };
  close(): Promise<void>;
}

export async function startShop(dir: string, options: { people: number; days: number }): Promise<Shop> {
  const segmentsDir = join(dir, 'segments');
  mkdirSync(segmentsDir);
  for (const f of ['champion', 'checkout-abandoners', 'email-engaged', 'win-back', 'new-customers']) {
    copyFileSync(join(EXAMPLES, `${f}.yaml`), join(segmentsDir, `${f}.yaml`));
  }
  // A label that is markup, and a segment nobody is in (the review says to retire it).
  writeFileSync(
    join(segmentsDir, 'canary.yaml'),
    `name: canary\nlabel: ${JSON.stringify(CANARY.label)}\nwhere:\n  performed: { event: Order Completed }\n`,
  );
  writeFileSync(
    join(segmentsDir, 'nobody.yaml'),
    'name: nobody\nlabel: Nobody at all\nwhere:\n  performed: { event: Never Happens }\n',
  );
  const playbook = join(dir, 'playbook.yaml');
  writeFileSync(playbook, playbookText(await closedPort()));

  const events = join(dir, 'events.ndjson');
  const start = new Date(Date.now() - options.days * 86_400_000).toISOString();
  await writeGeneratedFiles({
    people: options.people,
    days: options.days,
    seed: 20,
    profile: 'ecommerce',
    out: events,
    start,
  });
  const wh = await openWarehouse({ path: join(dir, 'shop.duckdb') });
  await importFile(wh, { path: events, rejectsPath: null });
  const now = Date.now();
  await ingestMessages(
    wh,
    [
      {
        type: 'identify',
        userId: CANARY.userId,
        traits: { name: CANARY.trait, company: CANARY.company, email: CANARY.email },
        timestamp: new Date(now - 3_600_000).toISOString(),
      },
      {
        type: 'track',
        userId: CANARY.userId,
        event: CANARY.event,
        properties: { note: CANARY.property },
        timestamp: new Date(now - 3_000_000).toISOString(),
      },
      {
        type: 'track',
        userId: CANARY.userId,
        event: 'Order Completed',
        properties: { revenue: 42, note: CANARY.property },
        timestamp: new Date(now - 2_000_000).toISOString(),
      },
    ],
    { source: 'test' },
  );
  // A play that has run: people exposed (treatment and holdout) and converting after, for the lift report.
  await playWithKnownLift(wh, 2000, 1);
  // The playbook is seen once before the first refresh, so the refresh's entries trigger the webhook play (a play
  // seen for the first time takes earlier entries as history).
  await runActivation(wh, cachedPlaybook(playbook));
  await runCycle(wh, { segmentsDir, playbook });
  for (const model of ['bgnbd', 'gammagamma'] as const) {
    await fitPurchaseModel(wh, {
      model,
      purchases: { events: ['Order Completed'], sameDayAsOne: true },
      window: { end: new Date() },
      timeUnit: 'weeks',
    });
  }
  await scorePredictions(wh, {
    horizon: { value: 12, unit: 'weeks' },
    clv: { horizon: { value: 12, unit: 'months' }, discount: { rate: 0.01, per: 'months' } },
  });
  // A churn model trained on two past snapshots and backtested on a third (the Models page's ROC, calibration, lift),
  // placed by quarters of the shop's span so that every label window ends by now: 30-day windows on 120 days.
  const quarter = Math.floor(options.days / 4);
  const daysAgo = (d: number) => new Date(now - d * 86_400_000);
  await fitPropensity(wh, {
    target: 'churn',
    horizon: `${quarter}d`,
    trainAsOf: [daysAgo(3 * quarter), daysAgo(2 * quarter)],
    testAsOf: daysAgo(quarter),
    config: modelConfig({}),
  });
  // Buyers clustered on their features at the refresh, as the demo does (sizes, centroids, labels).
  const [refresh] = await wh.query<{ as_of: Date }>('SELECT max(as_of) AS as_of FROM features');
  await fitClusterModel(wh, {
    sql: `SELECT person_id, rfm_frequency, rfm_monetary_avg, rfm_recency_days FROM features
          WHERE as_of = ? AND rfm_frequency > 0`,
    params: [refresh!.as_of],
    idColumn: 'person_id',
    columns: [
      { column: 'rfm_frequency', high: 'frequent', low: 'occasional' },
      { column: 'rfm_monetary_avg', high: 'big baskets', low: 'small baskets' },
      { column: 'rfm_recency_days', high: 'lapsed', low: 'recent' },
    ],
    kRange: { min: 2, max: 5 },
    seed: 1,
    assignAsOf: refresh!.as_of,
  });
  const keys = {
    write: (await createApiKey(wh, 'write')).key,
    read: (await createApiKey(wh, 'read', { name: 'marketer (read)' })).key,
    admin: (await createApiKey(wh, 'admin', { name: 'admin' })).key,
  };
  const server = await buildServer({ warehouse: wh, segmentsDir, playbook });
  const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
  return {
    server: { ...server, url },
    wh,
    segmentsDir,
    keys,
    async close() {
      await server.app.close();
      await wh.close();
    },
  };
}
