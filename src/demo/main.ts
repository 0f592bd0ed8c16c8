import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packagePath } from '../config/package-files.js';
import { openWarehouse } from '../engine/open.js';
import type { Warehouse } from '../engine/warehouse.js';
import { writeGeneratedFiles } from '../generate/index.js';
import { importFile } from '../instrument/import/import-file.js';
import { summarize } from '../instrument/summary.js';
import { fitPurchaseModel } from '../model/predict/model-fits.js';
import { measureSection, personalizeSection } from './activate-section.js';
import { collectorSection } from './collector-section.js';
import { interactiveTerminal, keepDashboardOpen } from './dashboard-section.js';
import { modelSection } from './model-section.js';
import { realtimeSection } from './realtime-section.js';

/**
 * The end-to-end demo (`npm start`): runs every capability that works today on the embedded engine and prints a
 * report a growth marketer can read. Each new capability joins it.
 *
 *   npm start                       simulated e-commerce shop (5,000 people, 120 days)
 *   npm start -- --people 300       smaller (CI's smoke test)
 *   npm start -- --cdnow            the bundled CDNOW purchase log instead
 */
const CDNOW = packagePath('test', 'fixtures', 'cdnow', 'CDNOW_master.txt');

const n = (x: number) => x.toLocaleString('en-US');
const money = (x: number) => x.toLocaleString('en-US', { style: 'currency', currency: 'USD' });
const pct = (part: number, whole: number) => `${((100 * part) / Math.max(1, whole)).toFixed(1)}%`;
const say = (line = '') => process.stdout.write(`${line}\n`);

async function identitySection(wh: Warehouse): Promise<void> {
  const [id] = await wh.query<{
    persons: number;
    identified: number;
    merged: number;
    anonymous: number;
    ids: number;
  }>(
    `SELECT count(*) AS persons, count(*) FILTER (WHERE identified) AS identified,
            count(*) FILTER (WHERE identified AND identifier_count > 1) AS merged,
            count(*) FILTER (WHERE NOT identified) AS anonymous, sum(identifier_count) AS ids FROM persons`,
  );
  say('\nWho is who (identity resolution)');
  say(`   ${n(id!.ids)} identifiers resolve to ${n(id!.persons)} people`);
  say(`   identified people           ${n(id!.identified)} (${pct(id!.identified, id!.persons)})`);
  say(`   …whose anonymous browsing or other devices were merged in: ${n(id!.merged)}`);
  say(`   anonymous visitors only     ${n(id!.anonymous)}`);
}

async function generatedDemo(
  dir: string,
  db: string,
  people: number,
  days: number,
  seed: number,
): Promise<void> {
  const events = join(dir, 'events.ndjson');
  const truth = join(dir, 'truth.ndjson');
  say(`1. Instrument: simulating an online shop — ${n(people)} people over ${days} days (seed ${seed})…`);
  let t = performance.now();
  const gen = await writeGeneratedFiles({
    people,
    days,
    seed,
    profile: 'ecommerce',
    out: events,
    truthOut: truth,
  });
  say(`   ${n(gen.events)} Segment-spec events written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const wh = await openWarehouse({ path: db });
  try {
    t = performance.now();
    const imp = await importFile(wh, { path: events, rejectsPath: null });
    say(
      `   imported ${n(imp.inserted)} events in ${((performance.now() - t) / 1000).toFixed(1)} s ` +
        `(${n(imp.rowsPerSecond)} events/s), ${n(imp.rejected)} rejected, ${n(imp.duplicates)} duplicates`,
    );
    await collectorSection(wh, { people: Math.max(20, Math.round(people / 20)), seed: seed + 1000 });
    await identitySection(wh);

    const s = await summarize(wh);
    say('\nWhat people did');
    say(
      `   period       ${s.firstEvent?.toISOString().slice(0, 10)} … ${s.lastEvent?.toISOString().slice(0, 10)}`,
    );
    say(
      `   revenue      ${money(s.revenue)} from ${n(s.purchasers)} buyers (${pct(s.purchasers, s.persons)} of people)`,
    );
    for (const e of s.topEvents.slice(0, 8))
      say(`   ${e.event.padEnd(22)} ${n(e.events).padStart(9)} events by ${n(e.persons)} people`);

    // The simulation knows each person's hidden archetype: show how differently they behave in the data.
    const d = wh.dialect;
    const rows = await wh.query<{
      archetype: string;
      people: number;
      orders: number;
      revenue: number;
      views: number;
      opens: number;
    }>(
      `WITH truth AS (SELECT CAST(personKey AS VARCHAR) AS person_id, archetype FROM ${d.readNdjson('?', {})})
       SELECT archetype, count(DISTINCT t.person_id) AS people,
              count(*) FILTER (WHERE e.event = 'Order Completed') / count(DISTINCT t.person_id) AS orders,
              coalesce(sum(e.revenue) FILTER (WHERE e.event = 'Order Completed'), 0) / count(DISTINCT t.person_id) AS revenue,
              count(*) FILTER (WHERE e.event = 'Product Viewed') / count(DISTINCT t.person_id) AS views,
              count(*) FILTER (WHERE e.event = 'Email Opened') / count(DISTINCT t.person_id) AS opens
       FROM truth t LEFT JOIN person_events e ON e.person_id = t.person_id
       GROUP BY archetype ORDER BY revenue DESC`,
      [truth],
    );
    say('\nHidden archetypes (ground truth) and what they look like in the data — per person');
    say(
      `   ${'archetype'.padEnd(16)} ${'people'.padStart(7)} ${'orders'.padStart(7)} ${'revenue'.padStart(11)} ${'views'.padStart(7)} ${'opens'.padStart(6)}`,
    );
    for (const r of rows) {
      say(
        `   ${r.archetype.padEnd(16)} ${n(r.people).padStart(7)} ${r.orders.toFixed(1).padStart(7)} ${money(r.revenue).padStart(11)} ${r.views.toFixed(1).padStart(7)} ${r.opens.toFixed(1).padStart(6)}`,
      );
    }
    await modelSection(wh, {
      asOf: s.lastEvent ?? new Date(),
      segments: true,
      funnel: true,
      ...(s.firstEvent ? { predict: { firstEvent: s.firstEvent } } : {}),
    });
    await personalizeSection(wh, s.lastEvent ?? new Date());
  } finally {
    await wh.close();
  }
  // Streaming evaluates as of now, and memberships only move forward: its own database, on the real clock.
  await realtimeSection(dir);
  // The experiment writes plays, exposures and simulated purchases: its own database, the same events.
  const measureDb = join(dir, 'measure.duckdb');
  for (const f of [measureDb, `${measureDb}.wal`]) rmSync(f, { force: true });
  await measureSection(events, measureDb);
}

async function cdnowDemo(db: string): Promise<void> {
  const wh = await openWarehouse({ path: db });
  try {
    say('1. Instrument: importing the CDNOW purchase log (1997–98)…');
    const imp = await importFile(wh, { path: CDNOW, preset: 'cdnow', rejectsPath: null });
    say(`   ${n(imp.inserted)} purchases imported in ${imp.seconds.toFixed(1)} s, ${imp.rejected} rejected`);
    const s = await summarize(wh);
    const [repeat] = await wh.query<{ repeaters: number; one_and_done: number }>(
      `SELECT count(*) FILTER (WHERE n > 1) AS repeaters, count(*) FILTER (WHERE n = 1) AS one_and_done
       FROM (SELECT person_id, count(*) AS n FROM person_events WHERE event = 'Order Completed' GROUP BY person_id)`,
    );
    say('\nWhat the data says');
    say(`   customers           ${n(s.persons)}`);
    say(`   purchases           ${n(s.events)}`);
    say(`   revenue             ${money(s.revenue)}`);
    say(`   revenue / customer  ${money(s.revenue / Math.max(1, s.persons))}`);
    say(
      `   bought again        ${n(repeat!.repeaters)} (${pct(repeat!.repeaters, s.persons)}); one purchase only: ${n(repeat!.one_and_done)}`,
    );
    say(
      `   period              ${s.firstEvent?.toISOString().slice(0, 10)} … ${s.lastEvent?.toISOString().slice(0, 10)}`,
    );
    await modelSection(wh, { asOf: new Date('1998-07-01T00:00:00Z'), segments: false, funnel: false });
    // The literature's set-up: calibration 1997-01-01 … 1997-09-30, time in weeks, purchases on one day count once.
    const bg = await fitPurchaseModel(wh, {
      model: 'bgnbd',
      purchases: { events: ['Order Completed'], sameDayAsOne: true },
      window: { end: new Date('1997-10-01T00:00:00Z'), holdoutEnd: new Date('1998-07-01T00:00:00Z') },
      timeUnit: 'weeks',
    });
    const p = bg.params as Record<string, number>;
    const h = bg.diagnostics.holdout as { actualPurchases: number; expectedPurchases: number } | undefined;
    say(
      `\n   BG/NBD on all ${n(bg.people)} customers (calibration to 1997-09-30, weeks): r ${p.r!.toFixed(4)}, α ${p.alpha!.toFixed(4)}, a ${p.a!.toFixed(4)}, b ${p.b!.toFixed(4)}, log-likelihood ${bg.logLikelihood!.toFixed(2)}`,
    );
    if (h) {
      say(
        `   holdout to 1998-06-30: ${n(h.actualPurchases)} repeat purchases happened, the model expected ${n(Math.round(h.expectedPurchases))}`,
      );
    }
  } finally {
    await wh.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cdnow: { type: 'boolean', default: false },
      people: { type: 'string', default: '5000' },
      days: { type: 'string', default: '120' },
      seed: { type: 'string', default: '1' },
    },
  });
  const dir = join(process.cwd(), '.demo');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const db = join(dir, 'demo.duckdb');
  const started = performance.now();
  say('segflow demo — embedded engine (DuckDB), nothing to set up\n');
  if (values.cdnow) await cdnowDemo(db);
  else await generatedDemo(dir, db, Number(values.people), Number(values.days), Number(values.seed));
  say(`\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s. Explore the same database:`);
  say(`   npx segflow --db ${db} stats`);
  say(`   npx segflow --db ${db} report rfm
   npx segflow --db ${db} models report churn`);
  say(`   npx segflow --db ${db} segments preview champion --dir examples/segments`);
  say(
    `   npx segflow --db ${db} sql "SELECT person_id, count(*) AS orders FROM person_events WHERE event = 'Order Completed' GROUP BY 1 ORDER BY 2 DESC LIMIT 5"`,
  );
  say(
    `   npx segflow --db ${db} persons show ${values.cdnow ? '00004' : 'ID   # any userId or anonymousId from the sql above'}`,
  );
  say('   npm start -- --cdnow            # the same on the CDNOW purchase log');
  if (interactiveTerminal()) {
    await keepDashboardOpen({
      db,
      ...(values.cdnow
        ? {}
        : {
            segmentsDir: packagePath('examples', 'segments'),
            playbook: packagePath('examples', 'playbooks', 'classic.yaml'),
          }),
    });
  }
}

await main();
