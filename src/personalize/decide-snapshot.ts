import { type ConsentAnswer, longestCapMs, SendLog, suppressionCheck } from '../activate/guards.js';
import type { Playbook } from '../activate/playbook.js';
import type { Warehouse } from '../engine/warehouse.js';
import { type Decision, decideFor, READ_ONLY, readPersonState, withRecording } from './decide.js';
import type { ExposureRecorder } from './exposure-recorder.js';

/**
 * decide() for a server answering many requests: everything a decision reads — current memberships, consent, the
 * quiet-hours time-zone trait, what each person got from each play, messages sent within the cap windows — loaded
 * in a few bulk queries and kept in memory, so a decision is a lookup and a pure function (microseconds) instead of
 * five queries. A background check (one cheap query a second) reloads it when segments are refreshed, events
 * arrive or deliveries change, so a decision is at most a reload behind the data. Decisions as of a past time
 * bypass it (see decide()).
 */
export class DecideSnapshot {
  private constructor(
    readonly version: string,
    readonly loadedAt: Date,
    private readonly segments: Map<string, string[]>,
    /** When each current membership began, parallel to `segments` (for exposures of `every_time` plays). */
    private readonly entered: Map<string, Date[]>,
    private readonly consent: Map<string, Map<string, ConsentAnswer>>,
    private readonly timezones: Map<string, unknown>,
    private readonly got: Map<string, Map<string, Date[]>>,
    private readonly sendLog: SendLog,
    private readonly persons: Map<string, string | null>,
    private readonly tzTrait: string | null,
    private readonly canonical: Set<string>,
    private readonly suppressed: (personId: string) => string | null,
  ) {}

  static async version(wh: Warehouse): Promise<string> {
    const [v] = await wh.query<{ r: number | null; d: number | null; b: string | null; c: number | null }>(
      `SELECT (SELECT max(refresh_id) FROM segment_refreshes) AS r,
              (SELECT max(id) FROM deliveries) AS d,
              (SELECT value FROM segflow_meta WHERE key = 'ingest_batch') AS b,
              (SELECT count(*) FROM deliveries WHERE status = 'sent') + (SELECT count(*) FROM suppressions) AS c`,
    );
    return `${v?.r}/${v?.d}/${v?.b}/${v?.c}`;
  }

  static async load(wh: Warehouse, pb: Playbook, now = new Date()): Promise<DecideSnapshot> {
    const version = await DecideSnapshot.version(wh);
    const d = wh.dialect;
    const segments = new Map<string, string[]>();
    const entered = new Map<string, Date[]>();
    const wanted = [...new Set(pb.plays.map((p) => p.segment))];
    for (const r of await wh.query<{ person_id: string; segment: string; entered_at: Date }>(
      `SELECT person_id, segment, max(entered_at) AS entered_at FROM segment_memberships
       WHERE exited_at IS NULL AND ${d.inTextList('segment', '?')} GROUP BY person_id, segment ORDER BY segment`,
      [JSON.stringify(wanted)],
    )) {
      const list = segments.get(r.person_id);
      if (list) {
        list.push(r.segment);
        entered.get(r.person_id)!.push(r.entered_at);
      } else {
        segments.set(r.person_id, [r.segment]);
        entered.set(r.person_id, [r.entered_at]);
      }
    }
    const consent = new Map<string, Map<string, ConsentAnswer>>();
    for (const r of await wh.query<{ person_id: string; purpose: string; granted: boolean; ts: Date }>(
      `SELECT i.person_id, c.purpose, ${d.argMax('c.granted', '(c.ts, c.message_id)')} AS granted, max(c.ts) AS ts
       FROM identity_consent c JOIN identities i ON i.identifier = c.identifier
       WHERE c.ts <= ? GROUP BY i.person_id, c.purpose`,
      [now],
    )) {
      let m = consent.get(r.person_id);
      if (!m) {
        m = new Map();
        consent.set(r.person_id, m);
      }
      m.set(r.purpose, { granted: r.granted, at: r.ts });
    }
    const tzTrait = pb.quiet_hours?.timezone_trait ?? null;
    const timezones = new Map<string, unknown>();
    if (tzTrait) {
      for (const r of await wh.query<{ person_id: string; value: string }>(
        `SELECT i.person_id, ${d.argMax('t.value', '(t.ts, t.message_id)')} AS value
         FROM identity_traits t JOIN identities i ON i.identifier = t.identifier WHERE t.key = ? GROUP BY i.person_id`,
        [tzTrait],
      )) {
        try {
          timezones.set(r.person_id, JSON.parse(r.value));
        } catch {
          timezones.set(r.person_id, r.value);
        }
      }
    }
    const got = new Map<string, Map<string, Date[]>>();
    for (const r of await wh.query<{ person_id: string; play: string; occurred_at: Date }>(
      `SELECT person_id, play, occurred_at FROM deliveries
       WHERE status IN ('pending', 'deferred', 'sent', 'withheld', 'dead')`,
    )) {
      let byPlay = got.get(r.person_id);
      if (!byPlay) {
        byPlay = new Map();
        got.set(r.person_id, byPlay);
      }
      byPlay.set(r.play, [...(byPlay.get(r.play) ?? []), r.occurred_at]);
    }
    const sendLog = new SendLog();
    const window = longestCapMs(pb);
    if (window > 0) {
      for (const r of await wh.query<{ person_id: string; channel: string; sent_at: Date }>(
        `SELECT person_id, channel, sent_at FROM deliveries WHERE status = 'sent' AND sent_at > ?`,
        [new Date(now.getTime() - window)],
      )) {
        sendLog.add(r.person_id, r.channel, r.sent_at);
      }
    }
    // Apps mostly ask by the canonical id: knowing every canonical id answers those without a query.
    const canonical = new Set(
      (await wh.query<{ person_id: string }>('SELECT DISTINCT person_id FROM identities')).map(
        (r) => r.person_id,
      ),
    );
    return new DecideSnapshot(
      version,
      now,
      segments,
      entered,
      consent,
      timezones,
      got,
      sendLog,
      new Map(),
      tzTrait,
      canonical,
      await suppressionCheck(wh),
    );
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

/**
 * A snapshot kept fresh for a server: loaded on first use, checked for changes at most every `checkMs`, reloaded
 * in the background (requests keep using the previous one until the new one is ready).
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
  ) {}

  private reload(pb: Playbook): Promise<DecideSnapshot> {
    if (!this.loading) {
      this.loading = DecideSnapshot.load(this.wh, pb)
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

  /** Decide now; with a recorder, record the exposures unless `record: false`. */
  async decide(pb: Playbook, identifier: string, options: { record?: boolean } = {}): Promise<Decision> {
    const recorder = options.record === false ? undefined : this.recorder;
    if (recorder) await recorder.lastExposed();
    const now = new Date();
    const snap = this.current;
    if (!snap || this.playbook !== pb) {
      // Loading everyone takes seconds on a big database: until it is ready, this person is read alone.
      void this.reload(pb).catch(() => {});
      return this.decideAlone(pb, identifier, now, recorder);
    }
    if (now.getTime() - this.lastCheck > this.checkMs) {
      this.lastCheck = now.getTime();
      void DecideSnapshot.version(this.wh).then((v) => {
        if (v !== this.current?.version) void this.reload(pb);
      });
    }
    const personId = await snap.personOf(this.wh, identifier);
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
    const [who] = await this.wh.query<{ person_id: string }>(
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
    const all = await readPersonState(this.wh, pb, who.person_id, now);
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
