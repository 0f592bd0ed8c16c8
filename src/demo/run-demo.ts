import { join } from 'node:path';
import { packagePath } from '../config/package-files.js';
import type { Warehouse } from '../engine/warehouse.js';
import { writeGeneratedFiles } from '../generate/index.js';
import { importFile } from '../instrument/import/import-file.js';
import { summarize } from '../instrument/summary.js';
import { fitPurchaseModel } from '../model/predict/model-fits.js';
import { measureSection, personalizeSection } from './activate-section.js';
import { collectorSection } from './collector-section.js';
import type { DemoEngine } from './demo-engine.js';
import { modelSection } from './model-section.js';
import { realtimeSection } from './realtime-section.js';

/**
 * The demo's report, section by section in the playbook's order, on the engine given (main.ts is its command line;
 * test/demo/demo-engines.test.ts runs it on both engines and compares what it prints).
 */
const CDNOW = packagePath('test', 'fixtures', 'cdnow', 'CDNOW_master.txt');

const n = (x: number) => x.toLocaleString('en-US');
const money = (x: number) => x.toLocaleString('en-US', { style: 'currency', currency: 'USD' });
const pct = (part: number, whole: number) => `${((100 * part) / Math.max(1, whole)).toFixed(1)}%`;
const say = (line = '') => process.stdout.write(`${line}\n`);

async function identitySection(wh: Warehouse): Promise<void> {
  const d = wh.dialect;
  const [id] = await wh.query<{
    persons: number;
    identified: number;
    merged: number;
    anonymous: number;
    ids: number;
  }>(
    `SELECT count(*) AS persons, ${d.aggregateIf('count(*)', 'identified')} AS identified,
            ${d.aggregateIf('count(*)', 'identified AND identifier_count > 1')} AS merged,
            ${d.aggregateIf('count(*)', 'NOT identified')} AS anonymous, sum(identifier_count) AS ids FROM persons`,
  );
  say('\nWho is who (identity resolution)');
  say(`   ${n(id!.ids)} identifiers resolve to ${n(id!.persons)} people`);
  say(`   identified people           ${n(id!.identified)} (${pct(id!.identified, id!.persons)})`);
  say(`   …whose anonymous browsing or other devices were merged in: ${n(id!.merged)}`);
  say(`   anonymous visitors only     ${n(id!.anonymous)}`);
}

export interface ShopDemoOptions {
  /** The demo's working folder: the generated files go here, and the engine's databases. */
  dir: string;
  engine: DemoEngine;
  people: number;
  days: number;
  seed: number;
  /**
   * The real-time section (default true): it runs on the real clock and prints latencies, so a comparison of two
   * runs leaves it out (test/demo/realtime-section.test.ts checks it on each engine).
   */
  realtime?: boolean;
}

/** The simulated shop: every section from generating its events to measuring two plays' lift. */
export async function shopDemo(o: ShopDemoOptions): Promise<void> {
  const { dir, engine, people, days, seed } = o;
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
  const wh = await engine.open('demo');
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

    // The simulation knows each person's hidden archetype: show how differently they behave in the data. (Aliases
    // differ from event columns: ClickHouse would read `ORDER BY revenue` as the events' column, not the average.)
    const d = wh.dialect;
    const rows = await wh.query<{
      archetype: string;
      people: number;
      orders: number;
      revenue_each: number;
      views: number;
      opens: number;
    }>(
      `WITH truth AS (SELECT CAST(personKey AS VARCHAR) AS person_id, archetype FROM ${d.readNdjson('?', {})})
       SELECT archetype, count(DISTINCT t.person_id) AS people,
              ${d.aggregateIf('count(*)', "e.event = 'Order Completed'")} / count(DISTINCT t.person_id) AS orders,
              coalesce(${d.aggregateIf('sum(e.revenue)', "e.event = 'Order Completed'")}, 0) / count(DISTINCT t.person_id) AS revenue_each,
              ${d.aggregateIf('count(*)', "e.event = 'Product Viewed'")} / count(DISTINCT t.person_id) AS views,
              ${d.aggregateIf('count(*)', "e.event = 'Email Opened'")} / count(DISTINCT t.person_id) AS opens
       FROM truth t LEFT JOIN person_events e ON e.person_id = t.person_id
       GROUP BY archetype ORDER BY revenue_each DESC, archetype`,
      [truth],
    );
    say('\nHidden archetypes (ground truth) and what they look like in the data — per person');
    say(
      `   ${'archetype'.padEnd(16)} ${'people'.padStart(7)} ${'orders'.padStart(7)} ${'revenue'.padStart(11)} ${'views'.padStart(7)} ${'opens'.padStart(6)}`,
    );
    for (const r of rows) {
      say(
        `   ${r.archetype.padEnd(16)} ${n(r.people).padStart(7)} ${r.orders.toFixed(1).padStart(7)} ${money(r.revenue_each).padStart(11)} ${r.views.toFixed(1).padStart(7)} ${r.opens.toFixed(1).padStart(6)}`,
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
  if (o.realtime ?? true) await realtimeSection(dir, engine);
  // The experiment writes plays, exposures and simulated purchases: its own database, the same events.
  await measureSection(events, engine);
}

/** The bundled CDNOW purchase log: import, what the data says, features, and BG/NBD as in the literature. */
export async function cdnowDemo(engine: DemoEngine): Promise<void> {
  const wh = await engine.open('demo');
  try {
    say('1. Instrument: importing the CDNOW purchase log (1997–98)…');
    const imp = await importFile(wh, { path: CDNOW, preset: 'cdnow', rejectsPath: null });
    say(`   ${n(imp.inserted)} purchases imported in ${imp.seconds.toFixed(1)} s, ${imp.rejected} rejected`);
    const s = await summarize(wh);
    const d = wh.dialect;
    const [repeat] = await wh.query<{ repeaters: number; one_and_done: number }>(
      `SELECT ${d.aggregateIf('count(*)', 'n > 1')} AS repeaters, ${d.aggregateIf('count(*)', 'n = 1')} AS one_and_done
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
