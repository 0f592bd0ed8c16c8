import { type Playbook, parsePlaybook } from '../../src/activate/playbook.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { modelConfig } from '../../src/model/model-config.js';
import { type StreamEvaluation, StreamEvaluator, type StreamOptions } from '../../src/pipeline/stream.js';
import { SegmentDefinition } from '../../src/segment/definition.js';
import { type Receiver, SECRET } from '../activate/helpers.js';

/** A simulated clock the stream and the ingest read. */
export class Clock {
  constructor(public ms: number) {}
  now = (): Date => new Date(this.ms);
  set(d: Date): void {
    this.ms = d.getTime();
  }
}

/** A playbook with one webhook destination on the receiver and the given plays (YAML list items). */
export function webhookPlaybook(receiver: Receiver, plays: string[]): Playbook {
  return parsePlaybook(`
timezone: UTC
consent: { default: allow }
destinations:
  hook: { type: webhook, url: "${receiver.url}", secret: "${SECRET}" }
plays:
${plays.map((p) => `  - ${p}`).join('\n')}
`);
}

export function definitions(...defs: object[]) {
  return defs.map((d, i) => ({ definition: SegmentDefinition.parse(d), file: `test-${i}.yaml` }));
}

/** A stream on the simulated clock over fixed definitions and playbook; evaluations are kept for assertions. */
export function simulatedStream(
  wh: Warehouse,
  clock: Clock,
  o: {
    segments: ReturnType<typeof definitions>;
    playbook: Playbook | null;
    options?: Partial<StreamOptions>;
  },
): { stream: StreamEvaluator; evaluations: StreamEvaluation[] } {
  const evaluations: StreamEvaluation[] = [];
  const stream = new StreamEvaluator(wh, {
    inputs: () => ({ model: modelConfig(), segments: o.segments, playbook: o.playbook }),
    now: clock.now,
    onEvaluation: (e) => evaluations.push(e),
    ...o.options,
  });
  return { stream, evaluations };
}

/** Store messages as received now on the simulated clock and tell the stream. */
export async function send(
  wh: Warehouse,
  clock: Clock,
  stream: StreamEvaluator,
  messages: object[],
): Promise<void> {
  await ingestMessages(wh, messages, { source: 'test', receivedAt: clock.now() });
  stream.notifyEvents();
}
