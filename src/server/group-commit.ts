import type { Warehouse } from '../engine/warehouse.js';
import type { IngestCounts, IngestOptions } from '../instrument/ingest.js';
import { ingestPrepared } from '../instrument/ingest-messages.js';
import {
  formatPosition,
  IntakeLog,
  INTAKE_LOG_POSITION_KEY as LOG_POSITION_KEY,
  type LogFrame,
  parsePosition,
} from '../instrument/intake-log.js';
import type { PreparedMessage } from '../instrument/prepare-message.js';
import { HttpError, maskedMessage } from './http-error.js';

/**
 * The write queue. Requests hand in their messages (prepared for storage); the committer gathers what concurrent requests
 * handed in into one group — bounded in events, and waiting at most `maxWaitMs` for company when it was idle — makes
 * the group durable and then answers every request of it. A full queue refuses at once (429); a failed commit fails
 * every request of its group (503), and the clients' retries are deduplicated by messageId, so each event is stored
 * exactly once.
 *
 * Durable means one of two things. Without an intake log, the group is one engine transaction. With one (what
 * `segflow serve` runs on a database file), a group of plainly valid messages (records, prepare-message.ts) is one
 * fsync'd frame of the log (intake-log.ts), and a loader moves the log into the warehouse in large transactions behind
 * the acknowledgements, recording in each how far it got; groups with anything the SQL checks must judge still commit
 * to the warehouse directly, since their answer reports what was rejected. Opening replays what a crash left unloaded.
 */
export type IngestFn = (
  wh: Warehouse,
  messages: readonly PreparedMessage[],
  options: IngestOptions,
) => Promise<IngestCounts>;

export interface GroupCommitOptions {
  /** Most events in one commit. Default 20,000. */
  maxEvents?: number;
  /** How long an idle committer waits for more requests before committing. Default 2 ms. */
  maxWaitMs?: number;
  /** Events waiting (not yet in a commit) beyond which requests are refused with 429. Default 100,000. */
  maxQueuedEvents?: number;
  /** Recorded as the source of rejected rows. Default 'collector'. */
  source?: string;
  /** The ingestion pipeline; default ingestPrepared. The benchmark swaps in a no-op to measure HTTP alone. */
  ingest?: IngestFn;
  /**
   * Runs inside each commit's transaction after the events were written and before COMMIT. A throw rolls the
   * transaction back and fails the group exactly as a storage failure would: tests use it to make storage fail.
   */
  beforeCommit?: (group: { events: number; requests: number }) => void | Promise<void>;
  /**
   * The directory of the intake log (see above). Without one, every group commits to the warehouse before it is
   * acknowledged.
   */
  intakeLog?: string | false;
  /** With an intake log: a load starts at once when this many events wait. Default 150,000 (over a row group). */
  loadEvents?: number;
  /** With an intake log: events acknowledged but not yet loaded beyond which requests are refused (429). Default 500,000. */
  maxBacklogEvents?: number;
  /** Runs inside each load's transaction before COMMIT; a throw fails the load, which is retried. Tests use it. */
  beforeLoad?: (load: { events: number }) => void | Promise<void>;
}

export interface RejectedMessage {
  /** 0-based position of the message in the request (its index in `batch`). */
  index: number;
  messageId: string | null;
  problems: string[];
}

export interface SubmitResult {
  received: number;
  /** Messages that failed validation (kept in rejected_events). */
  rejected: number;
  /** The first rejected messages with their problems (at most MAX_REPORTED). */
  problems: RejectedMessage[];
}

export interface CommitReport {
  /** A warehouse transaction answering its requests, an fsync'd intake log frame, or a load of the log. */
  kind: 'warehouse' | 'log' | 'load';
  events: number;
  requests: number;
  seconds: number;
  counts?: IngestCounts;
  error?: unknown;
}

const MAX_REPORTED = 20;
/** The pause between the end of one load and the start of the next (see scheduleLoad). */
const LOAD_GAP_MS = 20;

interface Pending {
  messages: readonly PreparedMessage[];
  resolve: (r: SubmitResult) => void;
  reject: (e: unknown) => void;
}

export class GroupCommitter {
  private readonly maxEvents: number;
  private readonly maxWaitMs: number;
  private readonly maxQueuedEvents: number;
  private readonly source: string;
  private readonly ingest: IngestFn;
  private readonly beforeCommit: GroupCommitOptions['beforeCommit'];
  private readonly beforeLoad: GroupCommitOptions['beforeLoad'];
  private readonly logDir: string | undefined;
  private readonly loadEvents: number;
  private readonly maxBacklogEvents: number;
  private log: IntakeLog | undefined;
  /** Acknowledged frames the warehouse has not loaded yet, oldest first. */
  private backlog: LogFrame[] = [];
  private backlogEvents = 0;
  /** Frames ever added to the backlog, and ever loaded from it: settled() waits for a count, not an empty backlog. */
  private framesAcknowledged = 0;
  private framesLoaded = 0;
  private loading: Promise<void> | undefined;
  private loadTimer: NodeJS.Timeout | undefined;
  private queue: Pending[] = [];
  private queuedEvents = 0;
  private inFlightEvents = 0;
  private running = false;
  private closing = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;
  /** The last commit's outcome, for /healthz. */
  lastError: { at: Date; message: string } | undefined;
  /** The last load's outcome (intake log to warehouse), for /healthz. */
  lastLoadError: { at: Date; message: string } | undefined;

  constructor(
    private readonly wh: Warehouse,
    options: GroupCommitOptions & { onCommit?: (r: CommitReport) => void } = {},
  ) {
    this.maxEvents = options.maxEvents ?? 20_000;
    this.maxWaitMs = options.maxWaitMs ?? 2;
    this.maxQueuedEvents = options.maxQueuedEvents ?? 100_000;
    this.source = options.source ?? 'collector';
    this.ingest = options.ingest ?? ingestPrepared;
    this.beforeCommit = options.beforeCommit;
    this.beforeLoad = options.beforeLoad;
    this.logDir = options.intakeLog || undefined;
    this.loadEvents = options.loadEvents ?? 150_000;
    this.maxBacklogEvents = options.maxBacklogEvents ?? 500_000;
    this.onCommit = options.onCommit;
  }

  /**
   * Open the intake log (if any) and load what it holds beyond the position the warehouse recorded: the events a
   * crash acknowledged but did not load. Call once before taking requests.
   */
  async open(): Promise<{ replayed: number; discardedBytes: number }> {
    if (!this.logDir) return { replayed: 0, discardedBytes: 0 };
    const [row] = await this.wh.query<{ value: string }>('SELECT value FROM segflow_meta WHERE key = ?', [
      LOG_POSITION_KEY,
    ]);
    const log = await IntakeLog.open(this.logDir, parsePosition(row?.value));
    this.log = log;
    for (const frame of log.unloaded) this.addToBacklog(frame);
    const replayed = this.backlogEvents;
    try {
      while (this.backlog.length > 0) await this.load();
    } catch (e) {
      // The backlog stays in the log for the next start; the server does not start on storage that fails.
      await log.close();
      this.log = undefined;
      throw e;
    }
    return { replayed, discardedBytes: log.discardedBytes };
  }

  /**
   * Resolves once every event acknowledged before the call is in the warehouse (loads at once instead of waiting).
   * Frames acknowledged after the call are not waited for: under a steady stream a new frame arrives during every
   * load, so waiting for an empty backlog never ends (an admin request or `segflow backup` through the server hung
   * for minutes at 1,000 events/s). Loads take the oldest frames first, so this ends within a few loads.
   */
  async settled(): Promise<void> {
    const target = this.framesAcknowledged;
    while (this.framesLoaded < target) await this.loadNow();
  }

  private readonly onCommit: ((r: CommitReport) => void) | undefined;

  /** Events and requests waiting for a commit, and events in the commit now running. */
  depth(): { requests: number; events: number; inFlightEvents: number; backlogEvents: number } {
    return {
      requests: this.queue.length,
      events: this.queuedEvents,
      inFlightEvents: this.inFlightEvents,
      backlogEvents: this.backlogEvents,
    };
  }

  /** Queue messages; resolves once they are durably committed (or rejects with 429, 503). */
  submit(messages: readonly PreparedMessage[]): Promise<SubmitResult> {
    if (this.closing) {
      return Promise.reject(
        new HttpError(503, 'SERVER_CLOSING', 'the server is shutting down', 'retry in a moment', {
          headers: { 'retry-after': '1' },
        }),
      );
    }
    if (messages.length === 0) return Promise.resolve({ received: 0, rejected: 0, problems: [] });
    if (this.backlogEvents >= this.maxBacklogEvents) {
      return Promise.reject(
        new HttpError(
          429,
          'WAREHOUSE_BEHIND',
          `the warehouse is ${this.backlogEvents} acknowledged events behind`,
          'retry after the number of seconds in Retry-After; SDKs do this on their own',
          { headers: { 'retry-after': '1' } },
        ),
      );
    }
    if (this.queuedEvents > 0 && this.queuedEvents + messages.length > this.maxQueuedEvents) {
      return Promise.reject(
        new HttpError(
          429,
          'QUEUE_FULL',
          `the write queue is full (${this.queuedEvents} events waiting)`,
          'retry after the number of seconds in Retry-After; SDKs do this on their own',
          { headers: { 'retry-after': '1' } },
        ),
      );
    }
    return new Promise<SubmitResult>((resolve, reject) => {
      this.queue.push({ messages, resolve, reject });
      this.queuedEvents += messages.length;
      if (!this.running) this.start();
    });
  }

  /**
   * Stop taking requests, wait until everything queued is committed, and load the intake log's backlog. A backlog
   * that cannot be loaded now stays in the log for the next start.
   */
  async close(): Promise<void> {
    this.closing = true;
    await this.idle;
    if (this.loadTimer) clearTimeout(this.loadTimer);
    this.loadTimer = undefined;
    try {
      await this.settled();
    } catch {
      // Kept in the log: the next open loads it.
    }
    await this.log?.close();
    this.log = undefined;
  }

  private start(): void {
    this.running = true;
    this.idle = new Promise((r) => {
      this.markIdle = r;
    });
    void this.loop();
  }

  private async loop(): Promise<void> {
    try {
      if (this.maxWaitMs > 0 && this.queuedEvents < this.maxEvents) {
        await new Promise((r) => setTimeout(r, this.maxWaitMs));
      }
      while (this.queue.length > 0) await this.commit(this.take());
    } finally {
      this.running = false;
      this.markIdle();
    }
  }

  private take(): Pending[] {
    const group: Pending[] = [];
    let events = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (group.length > 0 && events + next.messages.length > this.maxEvents) break;
      group.push(next);
      events += next.messages.length;
      this.queue.shift();
    }
    this.queuedEvents -= events;
    return group;
  }

  private async commit(group: Pending[]): Promise<void> {
    if (this.log && group.every((p) => p.messages.every(isLoggable))) return this.commitToLog(group);
    return this.commitToWarehouse(group);
  }

  /** Plainly valid messages: durable once in the log; nothing in them can be rejected, so the answer is known. */
  private async commitToLog(group: Pending[]): Promise<void> {
    const records: string[] = [];
    for (const p of group) for (const m of p.messages) records.push((m as { record: string }).record);
    this.inFlightEvents = records.length;
    const t0 = performance.now();
    try {
      await this.beforeCommit?.({ events: records.length, requests: group.length });
      const end = await this.log!.append(records);
      this.addToBacklog({ records, end });
      this.lastError = undefined;
      this.onCommit?.({
        kind: 'log',
        events: records.length,
        requests: group.length,
        seconds: (performance.now() - t0) / 1000,
      });
      for (const p of group) p.resolve({ received: p.messages.length, rejected: 0, problems: [] });
      this.scheduleLoad();
    } catch (e) {
      this.fail(group, e, records.length, t0, 'log');
    } finally {
      this.inFlightEvents = 0;
    }
  }

  private addToBacklog(frame: LogFrame): void {
    this.backlog.push(frame);
    this.backlogEvents += frame.records.length;
    this.framesAcknowledged++;
  }

  /**
   * The next load starts 20 ms after the last one ended (at once when `loadEvents` wait): what arrived meanwhile is
   * gathered into one load, so a busy warehouse still loads in large batches — a load takes longer, and more arrives
   * during it — and an acknowledged event waits for at most the load in progress. The stream's evaluations queue for
   * the writing connection between loads (`Warehouse.exclusive` takes callers in turn). Loads used to wait twice as
   * long as the last one took (up to 1 s), which at a million people added ~0.9 s on average to the time from an
   * event to its play: three rounds of `npm run bench -- realtime --people 1000000 --days 1 --only stream` each way,
   * 2026-12-08, gave ack → webhook p50 2.21 s against 2.57 s and p99 3.84 s against 4.51 s (medians).
   */
  private scheduleLoad(delayMs?: number): void {
    if (this.loading || this.backlog.length === 0 || this.closing) return;
    if (this.backlogEvents >= this.loadEvents) {
      void this.loadNow().catch(() => undefined);
      return;
    }
    if (this.loadTimer) return;
    const wait = delayMs ?? LOAD_GAP_MS;
    this.loadTimer = setTimeout(() => {
      this.loadTimer = undefined;
      void this.loadNow().catch(() => undefined);
    }, wait);
  }

  /** Start a load (or join the one running); resolves when it is done. */
  private loadNow(): Promise<void> {
    if (this.loadTimer) clearTimeout(this.loadTimer);
    this.loadTimer = undefined;
    if (!this.loading) {
      this.loading = this.load().finally(() => {
        this.loading = undefined;
        // A failed load is retried after a second; a successful one goes on with what arrived meanwhile.
        this.scheduleLoad(this.lastLoadError ? 1000 : undefined);
      });
    }
    return this.loading;
  }

  /** Load the oldest frames (up to twice `loadEvents`) in one transaction that also records how far the log is loaded. */
  private async load(): Promise<void> {
    const frames: LogFrame[] = [];
    let events = 0;
    for (const f of this.backlog) {
      if (frames.length > 0 && events + f.records.length > 2 * this.loadEvents) break;
      frames.push(f);
      events += f.records.length;
    }
    if (frames.length === 0) return;
    const end = frames.at(-1)!.end;
    const messages = frames.flatMap((f) => f.records.map((record) => ({ record })));
    const t0 = performance.now();
    try {
      const counts = await this.wh.transaction(async (tx) => {
        const c = await this.ingest(tx, messages, { source: this.source, receivedAt: new Date() });
        await tx.storage.upsert({
          table: 'segflow_meta',
          columns: ['key', 'value'],
          key: ['key'],
          from: { rows: [[LOG_POSITION_KEY, formatPosition(end)]] },
          update: ['value'],
        });
        await this.beforeLoad?.({ events });
        return c;
      });
      this.backlog.splice(0, frames.length);
      this.backlogEvents -= events;
      this.framesLoaded += frames.length;
      this.lastLoadError = undefined;
      this.onCommit?.({
        kind: 'load',
        events,
        requests: 0,
        seconds: (performance.now() - t0) / 1000,
        counts,
      });
      this.log?.removeLoaded(end);
    } catch (e) {
      this.lastLoadError = { at: new Date(), message: maskedMessage(e) };
      this.onCommit?.({
        kind: 'load',
        events,
        requests: 0,
        seconds: (performance.now() - t0) / 1000,
        error: e,
      });
      throw e;
    }
  }

  private fail(group: Pending[], e: unknown, events: number, t0: number, kind: CommitReport['kind']): void {
    this.lastError = { at: new Date(), message: maskedMessage(e) };
    this.onCommit?.({
      kind,
      events,
      requests: group.length,
      seconds: (performance.now() - t0) / 1000,
      error: e,
    });
    const err = new HttpError(
      503,
      'STORAGE_FAILED',
      'the events could not be stored; nothing from this request was kept',
      'retry with the same messageIds (SDKs do this on their own): duplicates are dropped, so nothing is stored twice',
      { headers: { 'retry-after': '1' }, cause: e },
    );
    for (const p of group) p.reject(err);
  }

  private async commitToWarehouse(group: Pending[]): Promise<void> {
    const starts: number[] = [];
    const messages: PreparedMessage[] = [];
    for (const p of group) {
      starts.push(messages.length);
      for (const t of p.messages) messages.push(t);
    }
    this.inFlightEvents = messages.length;
    const results: SubmitResult[] = group.map((p) => ({
      received: p.messages.length,
      rejected: 0,
      problems: [],
    }));
    const t0 = performance.now();
    try {
      const counts = await this.wh.transaction(async (tx) => {
        for (const r of results) {
          r.rejected = 0;
          r.problems = [];
        }
        const c = await this.ingest(tx, messages, {
          source: this.source,
          receivedAt: new Date(),
          onRejected: (rows) => {
            for (const row of rows) {
              const at = (row.rowNo ?? 1) - 1;
              const i = requestOf(starts, at);
              const r = results[i]!;
              r.rejected++;
              if (r.problems.length < MAX_REPORTED) {
                r.problems.push({ index: at - starts[i]!, messageId: row.messageId, problems: row.problems });
              }
            }
          },
        });
        await this.beforeCommit?.({ events: messages.length, requests: group.length });
        return c;
      });
      this.lastError = undefined;
      this.onCommit?.({
        kind: 'warehouse',
        events: messages.length,
        requests: group.length,
        seconds: (performance.now() - t0) / 1000,
        counts,
      });
      for (const [i, p] of group.entries()) p.resolve(results[i]!);
    } catch (e) {
      this.fail(group, e, messages.length, t0, 'warehouse');
    } finally {
      this.inFlightEvents = 0;
    }
  }
}

/** A record without a line break (the log's record separator; the fast path never makes one, this makes sure). */
function isLoggable(m: PreparedMessage): boolean {
  return 'record' in m && !m.record.includes('\n');
}

/** Index of the request whose messages include position `at` (starts ascending). */
function requestOf(starts: readonly number[], at: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
