import type { Warehouse } from '../engine/warehouse.js';
import type { IngestCounts, IngestOptions } from '../instrument/ingest.js';
import { ingestPrepared } from '../instrument/ingest-messages.js';
import type { PreparedMessage } from '../instrument/prepare-message.js';
import { HttpError, maskedMessage } from './http-error.js';

/**
 * The write queue. Requests hand in their messages (prepared for storage); the committer gathers what concurrent requests
 * handed in into one engine transaction — bounded in events, and waiting at most `maxWaitMs` for company when it was
 * idle — and answers every request of the group once that transaction has committed. A full queue refuses at once
 * (429); a failed commit fails every request of its group (503), and the clients' retries are deduplicated by
 * messageId, so each event is stored exactly once.
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
  events: number;
  requests: number;
  seconds: number;
  counts?: IngestCounts;
  error?: unknown;
}

const MAX_REPORTED = 20;

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
  private queue: Pending[] = [];
  private queuedEvents = 0;
  private inFlightEvents = 0;
  private running = false;
  private closing = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;
  /** The last commit's outcome, for /healthz. */
  lastError: { at: Date; message: string } | undefined;

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
    this.onCommit = options.onCommit;
  }

  private readonly onCommit: ((r: CommitReport) => void) | undefined;

  /** Events and requests waiting for a commit, and events in the commit now running. */
  depth(): { requests: number; events: number; inFlightEvents: number } {
    return { requests: this.queue.length, events: this.queuedEvents, inFlightEvents: this.inFlightEvents };
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

  /** Stop taking requests and wait until everything queued is committed. */
  async close(): Promise<void> {
    this.closing = true;
    await this.idle;
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
        events: messages.length,
        requests: group.length,
        seconds: (performance.now() - t0) / 1000,
        counts,
      });
      for (const [i, p] of group.entries()) p.resolve(results[i]!);
    } catch (e) {
      const message = maskedMessage(e);
      this.lastError = { at: new Date(), message };
      this.onCommit?.({
        events: messages.length,
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
    } finally {
      this.inFlightEvents = 0;
    }
  }
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
