import { type ConsentAnswer, longestCapMs, SendLog, suppressionCheck } from '../activate/guards.js';
import type { Playbook } from '../activate/playbook.js';
import { inTexts } from '../engine/dialect.js';
import type { Warehouse } from '../engine/warehouse.js';
import { factConditions } from '../instrument/profile-facts.js';
import { type Decision, decideFor, READ_ONLY, readPersonState, withRecording } from './decide.js';
import type { ExposureRecorder } from './exposure-recorder.js';

/** Where a snapshot has read up to: a change to any of these means something a decision reads may have changed. */
interface SnapshotCursor {
  /** The last membership change read (`segment_changes.seq`): memberships change only through it. */
  seq: number;
  /** The last ingest batch read: consent, traits and identities change only through ingest. */
  batch: number;
  /** The last delivery read, and how many are sent or unsettled (an outbox step changes these counts). */
  delivery: number;
  deliveryStates: number;
  suppressions: number;
  /** The last privacy request: an erasure removes rows without a trace elsewhere, so it means a full load. */
  privacy: number;
}

/** Delivery states that count as "got" (re-entry rules) and, of those, the ones an outbox step may still change. */
const GOT_STATES = ['pending', 'deferred', 'sent', 'withheld', 'dead'];
const UNSETTLED_STATES = ['pending', 'deferred', 'dead'];

/** Beyond this many people changed since the last read, one full load is cheaper than reading them one list at a time. */
const MAX_CATCH_UP = 50_000;

/**
 * Whose state to read: everyone (null), or `people`, whose identifiers are in the relation `identities` (identifier,
 * person_id) — the catch-up's few thousand rows instead of the table of every identity.
 */
type Scope = { people: readonly string[]; identities: string } | null;

/** The scratch relation holding the identifiers of the people a catch-up reads again. */
const CHANGED_IDENTITIES = '_sf_decide_changed_ids';

/**
 * decide() for a server answering many requests: everything a decision reads — current memberships, consent, the
 * quiet-hours time-zone trait, what each person got from each play, messages sent within the cap windows — loaded
 * in a few bulk queries and kept in memory, so a decision is a lookup and a pure function (microseconds) instead of
 * five queries. A background check (one cheap query a second) notices when segments are refreshed, events arrive or
 * deliveries change; the snapshot then catches up by reading again only the people concerned (`catchUp`: those in
 * the new ingest batches and membership changes, and those with new or unsettled deliveries), so it stays within
 * about a second of the data while events stream in, without reading everyone each time. Decisions as of a past
 * time bypass it (see decide()).
 */
export class DecideSnapshot {
  private constructor(
    private cursor: SnapshotCursor,
    public loadedAt: Date,
    private readonly segments: Map<string, string[]>,
    /** When each current membership began, parallel to `segments` (for exposures of `every_time` plays). */
    private readonly entered: Map<string, Date[]>,
    private readonly consent: Map<string, Map<string, ConsentAnswer>>,
    private readonly timezones: Map<string, unknown>,
    private readonly got: Map<string, Map<string, Date[]>>,
    private sendLog: SendLog,
    /** People with a delivery an outbox step may still change (pending, deferred, dead): re-read at each catch-up. */
    private readonly unsettled: Set<string>,
    private readonly persons: Map<string, string | null>,
    private readonly tzTrait: string | null,
    private readonly canonical: Set<string>,
    private suppressed: (personId: string) => string | null,
  ) {}

  /** Where the data stands now (one query); compare with `version` to know whether to catch up. */
  static async version(wh: Warehouse): Promise<string> {
    return JSON.stringify(await readCursor(wh));
  }

  get version(): string {
    return JSON.stringify(this.cursor);
  }

  static async load(wh: Warehouse, pb: Playbook, now = new Date()): Promise<DecideSnapshot> {
    const cursor = await readCursor(wh);
    const state = await readState(wh, pb, now, null);
    const canonical = new Set(
      (await wh.query<{ person_id: string }>('SELECT DISTINCT person_id FROM identities')).map(
        (r) => r.person_id,
      ),
    );
    const snapshot = new DecideSnapshot(
      cursor,
      now,
      new Map(),
      new Map(),
      new Map(),
      new Map(),
      new Map(),
      new SendLog(),
      new Set(),
      new Map(),
      pb.quiet_hours?.timezone_trait ?? null,
      canonical,
      await suppressionCheck(wh),
    );
    snapshot.apply(state, null);
    return snapshot;
  }

  /**
   * Read again the people whose state changed since this snapshot was read, and replace their entries (all at once,
   * after the reads: a decision never sees half of a catch-up). Returns false, changing nothing, when a full load is
   * the better way: after an erasure, when the log went backwards (a restore), or when too many people changed.
   */
  async catchUp(wh: Warehouse, pb: Playbook, now = new Date()): Promise<boolean> {
    const from = this.cursor;
    const to = await readCursor(wh);
    if (
      to.privacy !== from.privacy ||
      to.seq < from.seq ||
      to.batch < from.batch ||
      to.delivery < from.delivery
    )
      return false;
    if (JSON.stringify(to) === JSON.stringify(from)) return true;
    const d = wh.dialect;
    const changed = new Set<string>();
    if (to.batch > from.batch) {
      // The people of the new events as they resolve now: their stored person id through its override (persons on
      // events; this was a join of the new events' identifiers with every identity, ~0.6 s on a million people).
      // A person merged into one of them is among that person's identifiers now: `owners` below forgets it.
      // Only events that can change what a decision reads of a person: traits (identify), consent answers, and links
      // of two identifiers (merges). Memberships and deliveries have cursors of their own, and a person first seen in
      // these events is found by `personOf`'s lookup. Every event's person was read again here before: ~10,000 people
      // per load under the realtime benchmark, their identifiers, consent and traits (~0.3 s a load).
      const carries = factConditions(d, 'e');
      for (const r of await wh.query<{ person_id: string }>(
        `SELECT DISTINCT coalesce(o.person_id, e.person_id) AS person_id
         FROM events e LEFT JOIN person_overrides o ON o.old_person_id = e.person_id
         WHERE e.ingest_batch > ? AND e.ingest_batch <= ?
           AND (${carries.traits} OR ${carries.consent} OR e.type = 'alias'
             OR (e.user_id IS NOT NULL AND e.anonymous_id IS NOT NULL))`,
        [from.batch, to.batch],
      ))
        changed.add(r.person_id);
    }
    if (to.seq > from.seq) {
      for (const r of await wh.query<{ person_id: string }>(
        'SELECT DISTINCT person_id FROM segment_changes WHERE seq > ? AND seq <= ?',
        [from.seq, to.seq],
      ))
        changed.add(r.person_id);
    }
    if (to.delivery !== from.delivery || to.deliveryStates !== from.deliveryStates) {
      for (const p of this.unsettled) changed.add(p);
      for (const r of await wh.query<{ person_id: string }>(
        'SELECT DISTINCT person_id FROM deliveries WHERE id > ?',
        [from.delivery],
      ))
        changed.add(r.person_id);
    }
    if (changed.size > MAX_CATCH_UP) return false;
    // Which of them are people now, and which identifiers now belong to someone else (merged away): through the index
    // on identities.person_id.
    const byPerson = inTexts(d, 'person_id', [...changed]);
    const owners = changed.size
      ? await wh.query<{ identifier: string; person_id: string }>(
          `SELECT identifier, person_id FROM identities WHERE ${byPerson.sql}`,
          byPerson.params,
        )
      : [];
    // Their consent and traits are read through their identifiers alone: joining the answers with every identity to
    // find them cost ~0.7 s per catch-up on a million people.
    const state = changed.size
      ? await wh.storage.withScratch(
          {
            name: CHANGED_IDENTITIES,
            columns: [
              ['identifier', 'text'],
              ['person_id', 'text'],
            ],
            rows: owners.map((o) => [o.identifier, o.person_id]),
          },
          () => readState(wh, pb, now, { people: [...changed], identities: CHANGED_IDENTITIES }),
        )
      : undefined;
    const suppressed = to.suppressions !== from.suppressions ? await suppressionCheck(wh) : undefined;
    // Everything read: apply at once.
    const people = new Set(owners.map((o) => o.person_id));
    for (const id of changed) {
      if (people.has(id)) this.canonical.add(id);
      else {
        this.canonical.delete(id);
        this.forget(id);
      }
    }
    for (const o of owners) {
      if (o.identifier !== o.person_id && this.canonical.delete(o.identifier)) this.forget(o.identifier);
    }
    if (to.batch > from.batch) this.persons.clear();
    if (state) this.apply(state, changed);
    if (suppressed) this.suppressed = suppressed;
    this.cursor = to;
    this.loadedAt = now;
    return true;
  }

  /** Replace the entries of `people` (everyone when null) by what was read. */
  private apply(state: PersonStateRows, people: ReadonlySet<string> | null): void {
    if (people) for (const p of people) this.forget(p);
    for (const r of state.memberships) {
      const list = this.segments.get(r.person_id);
      if (list) {
        list.push(r.segment);
        this.entered.get(r.person_id)!.push(r.entered_at);
      } else {
        this.segments.set(r.person_id, [r.segment]);
        this.entered.set(r.person_id, [r.entered_at]);
      }
    }
    for (const r of state.consent) {
      let m = this.consent.get(r.person_id);
      if (!m) {
        m = new Map();
        this.consent.set(r.person_id, m);
      }
      m.set(r.purpose, { granted: r.granted, at: r.ts });
    }
    for (const r of state.timezones) {
      try {
        this.timezones.set(r.person_id, JSON.parse(r.value));
      } catch {
        this.timezones.set(r.person_id, r.value);
      }
    }
    for (const r of state.deliveries) {
      let byPlay = this.got.get(r.person_id);
      if (!byPlay) {
        byPlay = new Map();
        this.got.set(r.person_id, byPlay);
      }
      byPlay.set(r.play, [...(byPlay.get(r.play) ?? []), r.occurred_at]);
      if (UNSETTLED_STATES.includes(r.status)) this.unsettled.add(r.person_id);
    }
    for (const r of state.sends) this.sendLog.add(r.person_id, r.channel, r.sent_at);
  }

  /** Drop everything held about one person (before reading them again, or when they are no longer a person). */
  private forget(personId: string): void {
    this.segments.delete(personId);
    this.entered.delete(personId);
    this.consent.delete(personId);
    this.timezones.delete(personId);
    this.got.delete(personId);
    this.unsettled.delete(personId);
    this.sendLog.forget(personId);
  }

  /** The canonical person of an identifier (one point lookup the first time, then remembered). */
  async personOf(wh: Warehouse, identifier: string): Promise<string | null> {
    // A canonical person id is one of that person's identifiers, and identifiers map to one person: itself.
    if (this.canonical.has(identifier)) return identifier;
    if (this.persons.has(identifier)) return this.persons.get(identifier)!;
    const [row] = await wh.query<{ person_id: string }>(
      'SELECT person_id FROM identities WHERE identifier = ?',
      [identifier],
    );
    const person = row?.person_id ?? null;
    if (this.persons.size > 1_000_000) this.persons.clear();
    this.persons.set(identifier, person);
    return person;
  }

  decide(pb: Playbook, personId: string, asOf: Date, exposedAt?: ReadonlyMap<string, Date>): Decision {
    const tz = this.tzTrait ? this.timezones.get(personId) : undefined;
    const segments = this.segments.get(personId) ?? [];
    const entered = this.entered.get(personId) ?? [];
    return decideFor(pb, personId, asOf, {
      segments,
      enteredAt: new Map(segments.map((s, i) => [s, entered[i]!])),
      ...(exposedAt ? { exposedAt } : {}),
      consent: this.consent.get(personId),
      traits: this.tzTrait && tz !== undefined ? { [this.tzTrait]: tz } : {},
      sendLog: this.sendLog,
      got: this.got.get(personId) ?? new Map(),
      suppressed: this.suppressed(personId),
    });
  }
}

async function readCursor(wh: Warehouse): Promise<SnapshotCursor> {
  // Checked every second while decisions are served: one pass over deliveries gives its three figures.
  const unsettled = UNSETTLED_STATES.map((st) => `'${st}'`).join(', ');
  const [v] = await wh.query<Record<keyof SnapshotCursor, number | string | null>>(
    `SELECT c.seq, (SELECT value FROM segflow_meta WHERE key = 'ingest_batch') AS batch, dl.delivery,
            dl.states AS "deliveryStates", s.suppressions, p.privacy
     FROM (SELECT max(seq) AS seq FROM segment_changes) c,
          (SELECT max(id) AS delivery,
                  sum(CASE WHEN status = 'sent' THEN 1000003 WHEN status IN (${unsettled}) THEN 1 ELSE 0 END) AS states
           FROM deliveries) dl,
          (SELECT count(*) AS suppressions FROM suppressions) s,
          (SELECT max(id) AS privacy FROM privacy_requests) p`,
  );
  return {
    seq: Number(v?.seq ?? 0),
    batch: Number(v?.batch ?? 0),
    delivery: Number(v?.delivery ?? 0),
    deliveryStates: Number(v?.deliveryStates ?? 0),
    suppressions: Number(v?.suppressions ?? 0),
    privacy: Number(v?.privacy ?? 0),
  };
}

interface PersonStateRows {
  memberships: { person_id: string; segment: string; entered_at: Date }[];
  consent: { person_id: string; purpose: string; granted: boolean; ts: Date }[];
  timezones: { person_id: string; value: string }[];
  deliveries: { person_id: string; play: string; occurred_at: Date; status: string }[];
  sends: { person_id: string; channel: string; sent_at: Date }[];
}

/** What decisions read, for everyone (`scope` null) or a list of people: the same queries either way. */
async function readState(wh: Warehouse, pb: Playbook, now: Date, scope: Scope): Promise<PersonStateRows> {
  const d = wh.dialect;
  const only = (column: string) => (scope ? ` AND ${d.inTextList(column, '?')}` : '');
  const list = scope ? [JSON.stringify(scope.people)] : [];
  const wanted = [...new Set(pb.plays.map((p) => p.segment))];
  // Through the index on segment_memberships.person_id when scoped.
  const members = scope ? inTexts(d, 'person_id', scope.people) : undefined;
  const memberships = await wh.query<PersonStateRows['memberships'][number]>(
    `SELECT person_id, segment, max(entered_at) AS entered_at FROM segment_memberships
     WHERE exited_at IS NULL AND ${d.inTextList('segment', '?')}${members ? ` AND ${members.sql}` : ''}
     GROUP BY person_id, segment ORDER BY segment`,
    [JSON.stringify(wanted), ...(members?.params ?? [])],
  );
  // The identifiers of the people read (a scope's own relation holds only theirs).
  const identities = scope?.identities ?? 'identities';
  const consent = await wh.query<PersonStateRows['consent'][number]>(
    `SELECT i.person_id, c.purpose, ${d.argMax('c.granted', '(c.ts, c.message_id)')} AS granted, max(c.ts) AS ts
     FROM identity_consent c JOIN ${identities} i ON i.identifier = c.identifier
     WHERE c.ts <= ? GROUP BY i.person_id, c.purpose`,
    [now],
  );
  const tzTrait = pb.quiet_hours?.timezone_trait ?? null;
  const timezones = tzTrait
    ? await wh.query<PersonStateRows['timezones'][number]>(
        `SELECT i.person_id, ${d.argMax('t.value', '(t.ts, t.message_id)')} AS value
         FROM identity_traits t JOIN ${identities} i ON i.identifier = t.identifier
         WHERE t.key = ? GROUP BY i.person_id`,
        [tzTrait],
      )
    : [];
  const deliveries = await wh.query<PersonStateRows['deliveries'][number]>(
    `SELECT person_id, play, occurred_at, status FROM deliveries
     WHERE ${d.inTextList('status', '?')}${only('person_id')} ORDER BY id`,
    [JSON.stringify(GOT_STATES), ...list],
  );
  const window = longestCapMs(pb);
  const sends =
    window > 0
      ? await wh.query<PersonStateRows['sends'][number]>(
          `SELECT person_id, channel, sent_at FROM deliveries WHERE status = 'sent' AND sent_at > ?${only('person_id')}`,
          [new Date(now.getTime() - window), ...list],
        )
      : [];
  return { memberships, consent, timezones, deliveries, sends };
}

/**
 * A snapshot kept fresh for a server: loaded on first use, checked for changes at most every `checkMs` and caught up
 * in the background (requests keep using it meanwhile; a full load replaces it only when a catch-up declines).
 */
export class DecideService {
  private current: DecideSnapshot | null = null;
  private playbook: Playbook | null = null;
  private loading: Promise<DecideSnapshot> | null = null;
  private lastCheck = 0;

  constructor(
    private readonly wh: Warehouse,
    private readonly checkMs = 1000,
    /** Where decisions' exposures go (the server's); without one, decisions record nothing. */
    private readonly recorder?: ExposureRecorder,
    /** The time decisions are made at (tests pass a fixed one: quiet hours and caps depend on it). */
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * Bring the snapshot up to date in the background: a catch-up of the people who changed when there is a snapshot of
   * this playbook, else (or when the catch-up declines) a full load. One at a time; requests keep using the current
   * snapshot meanwhile.
   */
  private reload(pb: Playbook): Promise<DecideSnapshot> {
    if (!this.loading) {
      const snap = this.current;
      this.loading = this.bulkReads()
        .then(async (reads) => {
          const ok = snap && this.playbook === pb ? await snap.catchUp(reads, pb, this.clock()) : false;
          return ok && snap ? snap : DecideSnapshot.load(reads, pb, this.clock());
        })
        .then((s) => {
          this.current = s;
          this.playbook = pb;
          return s;
        })
        .finally(() => {
          this.loading = null;
        });
    }
    return this.loading;
  }

  /**
   * Everything a decision reads goes through the warehouse's reader: on DuckDB a connection of its own, so that
   * decide() never queues behind the stream's evaluations and the loader's transactions (seconds each on a million
   * people, and a decision needs several reads).
   */
  private reads(): Promise<Warehouse> {
    return this.wh.reader();
  }

  /**
   * The snapshot's loads and catch-ups read on a connection of their own: a catch-up at 5,000 events/s is a few
   * statements of about half a second each on a million people, every second, and a decision's lookup of one
   * identifier queued behind them (decide p99 18 s in the realtime benchmark).
   */
  private bulkReads(): Promise<Warehouse> {
    return this.wh.reader('decide-snapshot');
  }

  /**
   * Load the snapshot (and the recorder's last exposures) now, before the first request: a server does it before it
   * listens, so that its first decisions are lookups too, not each a person read alone while the load of everyone
   * competes with the stream's first evaluations (seconds at a million people).
   */
  async warm(pb: Playbook): Promise<void> {
    await Promise.all([this.reload(pb), this.recorder?.lastExposed()]);
  }

  /** Decide now; with a recorder, record the exposures unless `record: false`. */
  async decide(pb: Playbook, identifier: string, options: { record?: boolean } = {}): Promise<Decision> {
    const recorder = options.record === false ? undefined : this.recorder;
    if (recorder) await recorder.lastExposed();
    const now = this.clock();
    const snap = this.current;
    if (!snap || this.playbook !== pb) {
      // Loading everyone takes seconds on a big database: until it is ready, this person is read alone.
      void this.reload(pb).catch(() => {});
      return this.decideAlone(pb, identifier, now, recorder);
    }
    if (now.getTime() - this.lastCheck > this.checkMs) {
      this.lastCheck = now.getTime();
      // One cheap query when nothing changed; else only the people who changed are read again.
      void this.reload(pb).catch(() => {});
    }
    const personId = await snap.personOf(await this.reads(), identifier);
    if (!personId) {
      return withRecording(
        {
          personId: null,
          asOf: now,
          segments: [],
          play: null,
          candidates: [],
          exposures: [],
          recording: READ_ONLY,
        },
        recorder !== undefined,
      );
    }
    if (!recorder) return withRecording(snap.decide(pb, personId, now), false);
    const decision = snap.decide(pb, personId, now, recorder.exposedAt(personId));
    recorder.record(pb, decision.exposures);
    return decision;
  }
  /** A decision from this person's rows alone (as decide() reads them), recorded through the same recorder. */
  private async decideAlone(
    pb: Playbook,
    identifier: string,
    now: Date,
    recorder: ExposureRecorder | undefined,
  ): Promise<Decision> {
    const reads = await this.reads();
    const [who] = await reads.query<{ person_id: string }>(
      'SELECT person_id FROM identities WHERE identifier = ?',
      [identifier],
    );
    if (!who) {
      return withRecording(
        {
          personId: null,
          asOf: now,
          segments: [],
          play: null,
          candidates: [],
          exposures: [],
          recording: READ_ONLY,
        },
        recorder !== undefined,
      );
    }
    const all = await readPersonState(reads, pb, who.person_id, now);
    // As the snapshot, which holds only the memberships of segments a play targets.
    const segments = all.segments.filter((s) => pb.plays.some((p) => p.segment === s));
    const state = { ...all, segments };
    if (!recorder) return withRecording(decideFor(pb, who.person_id, now, state), false);
    const decision = decideFor(pb, who.person_id, now, {
      ...state,
      exposedAt: recorder.exposedAt(who.person_id),
    });
    recorder.record(pb, decision.exposures);
    return decision;
  }
}
