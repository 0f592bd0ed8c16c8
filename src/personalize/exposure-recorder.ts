import { upsertPlays } from '../activate/activate-run.js';
import type { Playbook } from '../activate/playbook.js';
import type { Warehouse } from '../engine/warehouse.js';
import { formatPosition, IntakeLog, type LogFrame, parsePosition } from '../instrument/intake-log.js';
import {
  type Exposure,
  exposureFromRecord,
  exposureToRecord,
  lastExposures,
  writeExposures,
} from './exposures.js';

/**
 * The server's exposure recorder: decide() answers from memory, hands its exposures here and returns at once; the
 * recorder writes them in batches behind the answers, so recording adds nothing to a decision's latency but a push
 * onto an array.
 *
 * Durability: every `flushMs` (default 20 ms) the queued exposures are appended as one fsync'd frame to the exposure
 * log (the same log format as the collector's intake log, in its own directory), and a loader moves the log into the
 * warehouse in larger transactions that record how far they got; opening loads what a crash left in the log. So a
 * SIGKILL loses at most the exposures queued since the last frame reached the disk: **decisions answered within
 * `LOSS_BOUND_MS` (100 ms) before the crash** — the flush interval plus the time an append and fsync take. Exposure
 * keys name their episode (personalize/exposures.ts), so a frame loaded twice stores each exposure once. Without a log
 * directory (an in-memory database) the batches go straight into warehouse transactions.
 *
 * It also remembers each person's last exposure per play (loaded once, then kept up to date as it records), so a
 * repeated decision does not queue the same episode again.
 */
export const LOSS_BOUND_MS = 100;

const FORMAT = 'segflow exposure log 1: play,person_id,arm,variant,exposed_at_ms,idempotency_key\n';
const POSITION_KEY = 'exposure_log_position';

export interface ExposureRecorderOptions {
  /** Where the exposure log lives (default: none — batches commit to the warehouse directly). */
  logDir?: string;
  /** How often queued exposures are flushed. Default 20 ms; the loss bound is LOSS_BOUND_MS. */
  flushMs?: number;
  /** How often the log is loaded into the warehouse. Default 200 ms. */
  loadMs?: number;
}

export class ExposureRecorder {
  private queue: Exposure[] = [];
  private log: IntakeLog | undefined;
  private backlog: LogFrame[] = [];
  private last: Map<string, Map<string, Date>> | undefined;
  private loadingLast: Promise<Map<string, Map<string, Date>>> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private loadTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private loading: Promise<void> = Promise.resolve();
  private readonly flushMs: number;
  private readonly loadMs: number;
  private playbook: Playbook | undefined;
  /** Plays of `playbook` whose definition is recorded in `plays`. */
  private playsRecorded = new Set<string>();
  private closed = false;
  /** The last failure to write (kept for /healthz-style inspection); the batch stays queued and is retried. */
  lastError: { at: Date; message: string } | undefined;
  /** Exposures handed in, and written to durable storage (log or warehouse). */
  readonly counts = { queued: 0, durable: 0, stored: 0 };

  constructor(
    private readonly wh: Warehouse,
    private readonly options: ExposureRecorderOptions = {},
  ) {
    this.flushMs = options.flushMs ?? 20;
    this.loadMs = options.loadMs ?? 200;
  }

  /** Open the log (if any) and load what a crash left in it. Call once before recording. */
  async open(): Promise<{ replayed: number }> {
    if (!this.options.logDir) return { replayed: 0 };
    const [row] = await this.wh.query<{ value: string }>('SELECT value FROM segflow_meta WHERE key = ?', [
      POSITION_KEY,
    ]);
    this.log = await IntakeLog.open(this.options.logDir, parsePosition(row?.value), FORMAT);
    this.backlog.push(...this.log.unloaded);
    const replayed = this.backlog.reduce((n, f) => n + f.records.length, 0);
    await this.load();
    return { replayed };
  }

  /** Each person's last exposure per play, as this recorder knows it (from the database, then its own records). */
  async lastExposed(): Promise<Map<string, Map<string, Date>>> {
    if (this.last) return this.last;
    this.loadingLast ??= lastExposures(this.wh).then((m) => {
      this.last = m;
      return m;
    });
    return this.loadingLast;
  }

  /** The last exposures of one person (empty until lastExposed() resolved once). */
  exposedAt(personId: string): ReadonlyMap<string, Date> {
    return this.last?.get(personId) ?? EMPTY;
  }

  /** Queue a decision's exposures; they become durable within flushMs. */
  record(pb: Playbook, exposures: readonly Exposure[]): void {
    if (exposures.length === 0 || this.closed) return;
    if (pb !== this.playbook) {
      this.playbook = pb;
      this.playsRecorded = new Set();
    }
    for (const e of exposures) {
      let m = this.last?.get(e.personId);
      if (!m) {
        m = new Map();
        this.last?.set(e.personId, m);
      }
      m.set(e.play, e.exposedAt);
      this.queue.push(e);
    }
    this.counts.queued += exposures.length;
    // Unref'd: a timer must not keep a finished process alive (servers and callers close() the recorder).
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, this.flushMs).unref();
  }

  /** Write what is queued now (to the log, or to the warehouse without one). */
  flush(): Promise<void> {
    // A failed flush must not stop the next one: each runs after the previous settles, whatever its outcome.
    this.flushing = this.flushing.catch(() => undefined).then(() => this.flushOnce());
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    try {
      if (this.log) {
        const records = batch.map(exposureToRecord);
        const end = await this.log.append(records);
        this.backlog.push({ records, end });
        this.counts.durable += batch.length;
        this.loadTimer ??= setTimeout(() => {
          this.loadTimer = undefined;
          void this.load().catch(() => undefined);
        }, this.loadMs).unref();
      } else {
        await this.store(batch);
        this.counts.durable += batch.length;
      }
      this.lastError = undefined;
    } catch (e) {
      // Put the batch back in front and try again shortly: a decision already answered is not lost to a hiccup.
      this.queue = [...batch, ...this.queue];
      this.lastError = { at: new Date(), message: (e as Error).message };
      if (!this.closed) {
        this.flushTimer ??= setTimeout(() => {
          this.flushTimer = undefined;
          void this.flush();
        }, 1000).unref();
      } else throw e;
    }
  }

  /** Move the log's frames into the warehouse, with the position they reach, in one transaction. */
  load(): Promise<void> {
    this.loading = this.loading
      .catch(() => undefined)
      .then(async () => {
        if (this.backlog.length === 0) return;
        const frames = this.backlog.slice();
        const end = frames.at(-1)!.end;
        const batch = frames.flatMap((f) => f.records.map(exposureFromRecord));
        await this.store(batch, formatPosition(end));
        this.backlog.splice(0, frames.length);
        this.log?.removeLoaded(end);
      });
    return this.loading;
  }

  private async store(batch: Exposure[], position?: string): Promise<void> {
    const pb = this.playbook;
    const unrecorded = pb?.plays.filter(
      (p) => !this.playsRecorded.has(p.name) && batch.some((e) => e.play === p.name),
    );
    if (pb && unrecorded?.length) {
      // measure report reads the play's holdout share (for the SRM check) from the recorded definition.
      await upsertPlays(this.wh, { ...pb, plays: unrecorded }, new Date());
      for (const p of unrecorded) this.playsRecorded.add(p.name);
    }
    this.counts.stored += await writeExposures(
      this.wh,
      batch,
      position === undefined ? undefined : { key: POSITION_KEY, value: position },
    );
  }

  /** Flush and load everything, then stop. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.loadTimer) clearTimeout(this.loadTimer);
    this.flushTimer = undefined;
    this.loadTimer = undefined;
    // What cannot be written now stays in the log (loaded at the next start); only an unflushable queue is lost.
    await this.flush().catch(() => undefined);
    await this.load().catch(() => undefined);
    await this.log?.close();
    this.log = undefined;
  }
}

const EMPTY: ReadonlyMap<string, Date> = new Map();
