import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { compileSegments } from '../../src/segment/compile.js';
import { SegmentDefinition } from '../../src/segment/definition.js';
import { eventLookbackMs } from '../../src/segment/event-lookback.js';
import { refreshSegments } from '../../src/segment/memberships.js';
import { casesOn, ENGINES, type TestEngine } from '../helpers/engines.js';
import { randomCases } from '../helpers/thorough.js';
import { randomDefinitions, randomLog, rng } from './random-segments.js';
import { evaluateSegmentsReference } from './reference.js';

/**
 * Differential fuzz: random segment definitions over random event logs (merged identities, window edges, events
 * after T) — the compiled SQL and the reference evaluator must agree on every person's membership.
 * SEGFLOW_SEGMENT_SEED=<n> replays one round. Runs on every engine of ENGINES (on ClickHouse, the first rounds: see
 * `casesOn`).
 */
const ROUNDS = randomCases(12, 30);
const DEFINITIONS_PER_ROUND = 100;
const PEOPLE = 30;

/** Definitions per round: on engines that run a share of the rounds, fewer (ClickHouse plans 100 in a minute). */
const perRound = (engine: TestEngine) => (engine.share < 1 ? 30 : DEFINITIONS_PER_ROUND);

/** The seeds of a test's rounds: `count` from `first`, or the one its replay variable names. */
function seedsOf(replay: string | undefined, count: number, first: number): number[] {
  return replay ? [Number(replay)] : Array.from({ length: count }, (_, i) => first + i);
}

/**
 * Two steps of arrival: an earlier time T0 and the messages received by then (timed at or before it, except a tenth
 * that arrive late), then the rest (late events, identity links, group calls, events after T).
 */
function inTwoSteps(r: () => number, log: ReturnType<typeof randomLog>, seed: number) {
  const T0 = new Date(log.asOf.getTime() - STEPS_MS[seed % STEPS_MS.length]!);
  const first = log.messages.filter((m) => Date.parse(String(m.timestamp)) <= T0.getTime() && r() < 0.9);
  const rest = log.messages.filter((m) => !first.includes(m));
  return { T0, first, rest };
}

const STEPS_MS = [0, 1000, 3_600_000, 86_400_000, 3 * 86_400_000, 8 * 86_400_000];

for (const engine of ENGINES)
  describe(engine.name, () => {
    test(`${casesOn(engine, ROUNDS) * perRound(engine)} random definitions: compiled SQL equals the reference evaluator`, async () => {
      const only = process.env.SEGFLOW_SEGMENT_SEED;
      const seeds = seedsOf(only, casesOn(engine, ROUNDS), 1000);
      let checked = 0;
      let members = 0;
      let alone = 0;
      for (const seed of seeds) {
        const r = rng(seed);
        const log = randomLog(r, PEOPLE, `r${seed}-`);
        const defs = randomDefinitions(r, perRound(engine), 'seg');
        for (const d of defs) SegmentDefinition.parse(d); // the generator writes only valid definitions
        const wh = await engine.open();
        try {
          const counts = await ingestMessages(wh, log.messages, { source: 'test' });
          assert.equal(counts.rejected, 0);
          const compiled = compileSegments(wh.dialect, defs, { asOf: log.asOf });
          const rows = await wh.query<Record<string, unknown>>(compiled.sql, compiled.params);
          const expected = evaluateSegmentsReference(defs, log.events, log.asOf);
          for (const { name, column } of compiled.columns) {
            const got = new Set(
              rows.filter((row) => row[column] === true).map((row) => String(row.person_id)),
            );
            const want = expected.get(name)!;
            const def = defs.find((d) => d.name === name)!;
            assert.deepEqual(
              [...got].sort(),
              [...want].sort(),
              `seed ${seed}, segment ${name} as of ${log.asOf.toISOString()} (replay: SEGFLOW_SEGMENT_SEED=${seed}):\n${JSON.stringify(def.where)}`,
            );
            checked++;
            members += want.size;
          }
          // Compiled alone, a definition's detail pass reads only its own events, so people without any of them have no
          // detail row at all: their counts must still read as 0.
          if (seed % 6 === 0) {
            for (const def of defs.filter((d) => !JSON.stringify(d.where).includes('Segment'))) {
              const one = compileSegments(wh.dialect, [def], { asOf: log.asOf });
              const rows = await wh.query<Record<string, unknown>>(one.sql, one.params);
              const got = rows
                .filter((row) => row[one.columns[0]!.column] === true)
                .map((row) => String(row.person_id));
              assert.deepEqual(
                got.sort(),
                [...expected.get(def.name)!].sort(),
                `seed ${seed}, segment ${def.name} compiled alone (replay: SEGFLOW_SEGMENT_SEED=${seed}):\n${JSON.stringify(def.where)}`,
              );
              alone++;
            }
          }
        } finally {
          await wh.close();
        }
      }
      assert.equal(checked, seeds.length * perRound(engine));
      // About one definition in ten is also compiled alone (300 of 3,000 when this was written).
      if (!only && seeds.length === ROUNDS)
        assert.ok(alone > 10 * ROUNDS, `${alone} definitions also checked compiled alone`);
      // The fuzz is only worth something if segments are neither all empty nor everyone.
      assert.ok(members > checked, `segments have members (${members} over ${checked} definitions)`);
    });

    /**
     * The same fuzz in two steps, through the refresh that writes memberships: a full refresh as of T0 over the messages
     * received by then, then the rest arrives (late events, identity links, group calls, events after T) and an
     * incremental refresh as of T re-evaluates only the people whose memberships can have changed. Every segment's current
     * members must equal the reference evaluator's at T over all events. SEGFLOW_INCREMENTAL_SEGMENT_SEED=<n> replays one.
     */
    const INCREMENTAL_ROUNDS = randomCases(5, 12);

    test(`${casesOn(engine, INCREMENTAL_ROUNDS) * perRound(engine)} random definitions refreshed in two steps: the incremental refresh equals the reference`, async () => {
      const only = process.env.SEGFLOW_INCREMENTAL_SEGMENT_SEED;
      const seeds = seedsOf(only, casesOn(engine, INCREMENTAL_ROUNDS), 5000);
      let checked = 0;
      let carried = 0;
      for (const seed of seeds) {
        const r = rng(seed);
        const log = randomLog(r, PEOPLE, `i${seed}-`);
        const defs = randomDefinitions(r, perRound(engine), 'seg');
        const { T0, first, rest } = inTwoSteps(r, log, seed);
        const wh = await engine.open();
        try {
          await ingestMessages(wh, first, { source: 'test' });
          const stored = defs.map((definition) => ({ definition }));
          const before = await refreshSegments(wh, stored, { asOf: T0 });
          assert.equal(before.mode, 'full');
          await ingestMessages(wh, rest, { source: 'test' });
          const after = await refreshSegments(wh, stored, { asOf: log.asOf });
          const replay = `(replay: SEGFLOW_INCREMENTAL_SEGMENT_SEED=${seed})`;
          assert.equal(after.mode, 'incremental', `seed ${seed} ${replay}`);
          const [everyone] = await wh.query<{ n: bigint }>(
            'SELECT count(DISTINCT person_id) AS n FROM identities',
          );
          carried += Number(everyone!.n) - after.recomputed;
          const expected = evaluateSegmentsReference(defs, log.events, log.asOf);
          const current = await wh.query<{ segment: string; person_id: string }>(
            'SELECT segment, person_id FROM segment_memberships WHERE exited_at IS NULL',
          );
          for (const def of defs) {
            const got = current.filter((m) => m.segment === def.name).map((m) => m.person_id);
            assert.deepEqual(
              got.sort(),
              [...expected.get(def.name)!].sort(),
              `seed ${seed}, segment ${def.name}, as of ${T0.toISOString()} then ${log.asOf.toISOString()} ${replay}:\n${JSON.stringify(def.where)}`,
            );
            assert.equal(
              after.segments.find((s) => s.name === def.name)!.size,
              got.length,
              `size of ${def.name} ${replay}`,
            );
            checked++;
          }
        } finally {
          await wh.close();
        }
      }
      assert.equal(checked, seeds.length * perRound(engine));
      // Worth something only if some people were not re-evaluated.
      if (!only) assert.ok(carried > 0, `${carried} people kept their memberships without being evaluated`);
    });

    /**
     * Definitions that read only recent events (`eventLookbackMs` is not null for them together): the evaluation reads
     * only the events since T − lookback and leaves people without one out. Full, then incremental through the refresh,
     * and compiled as one query: each equals the reference over all events. SEGFLOW_RECENT_SEGMENT_SEED=<n> replays one.
     */
    const RECENT_ROUNDS = randomCases(4, 10);

    test(`${casesOn(engine, RECENT_ROUNDS)} rounds of definitions reading only recent events: bounded reads equal the reference`, async () => {
      const only = process.env.SEGFLOW_RECENT_SEGMENT_SEED;
      const seeds = seedsOf(only, casesOn(engine, RECENT_ROUNDS), 7000);
      let checked = 0;
      let members = 0;
      for (const seed of seeds) {
        const r = rng(seed);
        const log = randomLog(r, PEOPLE, `b${seed}-`);
        // Of many random definitions, those with a bounded read (a fifth or so).
        const defs = randomDefinitions(r, 10 * perRound(engine), 'seg')
          .filter((d) => !JSON.stringify(d.where).includes('Segment') && eventLookbackMs([d]) !== null)
          .slice(0, perRound(engine));
        const lookback = eventLookbackMs(defs);
        const replay = `(replay: SEGFLOW_RECENT_SEGMENT_SEED=${seed})`;
        assert.ok(defs.length >= 10 && lookback !== null, `seed ${seed}: ${defs.length} bounded definitions`);
        const { T0, first, rest } = inTwoSteps(r, log, seed);
        const wh = await engine.open();
        try {
          await ingestMessages(wh, first, { source: 'test' });
          const stored = defs.map((definition) => ({ definition }));
          await refreshSegments(wh, stored, { asOf: T0 });
          await ingestMessages(wh, rest, { source: 'test' });
          const after = await refreshSegments(wh, stored, { asOf: log.asOf });
          assert.equal(after.mode, 'incremental', `seed ${seed} ${replay}`);
          const expected = evaluateSegmentsReference(defs, log.events, log.asOf);
          const compiled = compileSegments(wh.dialect, defs, { asOf: log.asOf, recentEventsOnly: true });
          // The bound is there: events since T − lookback.
          assert.ok(
            compiled.params.some((p) => p instanceof Date && p.getTime() === log.asOf.getTime() - lookback),
          );
          const rows = await wh.query<Record<string, unknown>>(compiled.sql, compiled.params);
          const current = await wh.query<{ segment: string; person_id: string }>(
            'SELECT segment, person_id FROM segment_memberships WHERE exited_at IS NULL',
          );
          for (const { name, column } of compiled.columns) {
            const want = [...expected.get(name)!].sort();
            const def = JSON.stringify(defs.find((d) => d.name === name)!.where);
            const queried = rows.filter((row) => row[column] === true).map((row) => String(row.person_id));
            assert.deepEqual(queried.sort(), want, `seed ${seed}, ${name} queried ${replay}:\n${def}`);
            const refreshed = current.filter((m) => m.segment === name).map((m) => m.person_id);
            assert.deepEqual(refreshed.sort(), want, `seed ${seed}, ${name} refreshed ${replay}:\n${def}`);
            checked++;
            members += want.length;
          }
        } finally {
          await wh.close();
        }
      }
      assert.ok(checked >= 10 * seeds.length && members > 0, `${checked} definitions, ${members} members`);
    });
  });
