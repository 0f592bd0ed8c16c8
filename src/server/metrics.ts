import type { StreamEvaluation, StreamStatus } from '../pipeline/stream.js';
import type { CommitReport } from './group-commit.js';

/** Commit latency buckets in seconds (Prometheus `le` bounds). */
const COMMIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) if (v <= this.bounds[i]!) this.counts[i]!++;
  }
}

function labelValue(v: string): string {
  return v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

/**
 * The collector's Prometheus metrics, hand-written (a handful of counters, one histogram): events accepted,
 * deduplicated and rejected, requests by route and status, commits and their latency, and the write queue's depth.
 */
export class Metrics {
  eventsAccepted = 0;
  eventsDeduplicated = 0;
  eventsRejected = 0;
  commitsOk = 0;
  commitsFailed = 0;
  readonly commitSeconds = new Histogram(COMMIT_BUCKETS);
  readonly commitEvents = new Histogram([1, 10, 100, 1000, 5000, 10_000, 20_000, 50_000]);
  loadsOk = 0;
  loadsFailed = 0;
  readonly loadSeconds = new Histogram(COMMIT_BUCKETS);
  readonly loadEvents = new Histogram([100, 1000, 10_000, 50_000, 100_000, 150_000, 300_000]);
  private readonly requests = new Map<string, number>();
  /** Streaming evaluation (pipeline/stream.ts): from new events to their evaluation's end, and edges' delays. */
  readonly streamLatency = new Histogram(COMMIT_BUCKETS);
  readonly edgeDelay = new Histogram(COMMIT_BUCKETS);
  readonly evaluationSeconds = new Histogram(COMMIT_BUCKETS);
  private readonly evaluations = new Map<string, number>();
  streamFailures = 0;

  recordEvaluation(e: StreamEvaluation): void {
    this.evaluations.set(e.reason, (this.evaluations.get(e.reason) ?? 0) + 1);
    this.evaluationSeconds.observe(e.seconds);
    for (const s of e.eventLatencies) this.streamLatency.observe(s);
    if (e.edgeDelay !== undefined) this.edgeDelay.observe(e.edgeDelay);
  }

  recordCommit(r: CommitReport): void {
    if (r.counts) {
      this.eventsAccepted += r.counts.inserted;
      this.eventsDeduplicated += r.counts.duplicates;
      this.eventsRejected += r.counts.rejected;
    }
    if (r.kind === 'load') {
      this.loadSeconds.observe(r.seconds);
      this.loadEvents.observe(r.events);
      if (r.error === undefined) this.loadsOk++;
      else this.loadsFailed++;
      return;
    }
    this.commitSeconds.observe(r.seconds);
    this.commitEvents.observe(r.events);
    if (r.error === undefined) this.commitsOk++;
    else this.commitsFailed++;
  }

  recordRequest(route: string, status: number): void {
    const key = `${route}\u0000${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  render(
    queue: { requests: number; events: number; inFlightEvents: number; backlogEvents: number },
    stream?: StreamStatus,
  ): string {
    const out: string[] = [];
    const counter = (name: string, help: string, value: number) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${value}`);
    };
    const gauge = (name: string, help: string, value: number) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`);
    };
    const histogram = (name: string, help: string, h: Histogram) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
      h.bounds.forEach((b, i) => {
        out.push(`${name}_bucket{le="${b}"} ${h.counts[i]}`);
      });
      out.push(`${name}_bucket{le="+Inf"} ${h.count}`, `${name}_sum ${h.sum}`, `${name}_count ${h.count}`);
    };
    counter('segflow_events_accepted_total', 'Events stored (new messageIds).', this.eventsAccepted);
    counter(
      'segflow_events_deduplicated_total',
      'Valid events whose messageId was already stored: counted no-ops.',
      this.eventsDeduplicated,
    );
    counter(
      'segflow_events_rejected_total',
      'Events that failed validation (kept in rejected_events).',
      this.eventsRejected,
    );
    out.push(
      '# HELP segflow_commits_total Group commits by result.',
      '# TYPE segflow_commits_total counter',
      `segflow_commits_total{result="ok"} ${this.commitsOk}`,
      `segflow_commits_total{result="error"} ${this.commitsFailed}`,
    );
    histogram(
      'segflow_commit_duration_seconds',
      'Time to make a group durable (a warehouse transaction, or an fsync of the intake log) before its acknowledgements.',
      this.commitSeconds,
    );
    histogram('segflow_commit_events', 'Events in one group commit.', this.commitEvents);
    gauge('segflow_queue_events', 'Events waiting for a commit.', queue.events);
    gauge('segflow_queue_requests', 'Requests waiting for a commit.', queue.requests);
    gauge('segflow_commit_in_flight_events', 'Events in the commit now running.', queue.inFlightEvents);
    out.push(
      '# HELP segflow_loads_total Loads of the intake log into the warehouse by result.',
      '# TYPE segflow_loads_total counter',
      `segflow_loads_total{result="ok"} ${this.loadsOk}`,
      `segflow_loads_total{result="error"} ${this.loadsFailed}`,
    );
    histogram('segflow_load_duration_seconds', 'Time of one load of the intake log.', this.loadSeconds);
    histogram('segflow_load_events', 'Events in one load of the intake log.', this.loadEvents);
    gauge(
      'segflow_intake_backlog_events',
      'Events acknowledged (in the intake log) and not yet loaded into the warehouse.',
      queue.backlogEvents,
    );
    if (stream) {
      out.push(
        '# HELP segflow_stream_evaluations_total Streaming evaluations by what started them.',
        '# TYPE segflow_stream_evaluations_total counter',
        ...['events', 'edge', 'start'].map(
          (r) => `segflow_stream_evaluations_total{reason="${r}"} ${this.evaluations.get(r) ?? 0}`,
        ),
      );
      counter(
        'segflow_stream_failures_total',
        'Streaming evaluations that failed (and were retried).',
        this.streamFailures,
      );
      histogram(
        'segflow_stream_latency_seconds',
        'From a load of new events into the warehouse to the end of the evaluation (memberships, triggers, sends) that covered it.',
        this.streamLatency,
      );
      histogram(
        'segflow_stream_edge_delay_seconds',
        'From a time edge falling due (an abandonment wait ending, a window expiring) to the end of its evaluation.',
        this.edgeDelay,
      );
      histogram(
        'segflow_stream_evaluation_seconds',
        'Time of one streaming evaluation.',
        this.evaluationSeconds,
      );
      gauge('segflow_stream_due_edges', 'Time edges in the due-time queue.', stream.dueEdges);
      gauge(
        'segflow_stream_pending_notifications',
        'Loads of new events waiting for an evaluation.',
        stream.pendingNotifications,
      );
      gauge('segflow_stream_lag_seconds', 'Age of the oldest load not yet evaluated.', stream.lagSeconds);
      gauge(
        'segflow_stream_degraded',
        '1 when streaming has degraded to batch evaluation of a backlog (or is off), 0 while it streams.',
        stream.mode === 'streaming' ? 0 : 1,
      );
    }
    out.push('# HELP segflow_http_requests_total Requests answered, by route and status.');
    out.push('# TYPE segflow_http_requests_total counter');
    for (const [key, n] of [...this.requests].sort()) {
      const [route, status] = key.split('\u0000');
      out.push(`segflow_http_requests_total{route="${labelValue(route!)}",status="${status}"} ${n}`);
    }
    return `${out.join('\n')}\n`;
  }
}
