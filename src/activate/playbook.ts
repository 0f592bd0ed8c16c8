import { existsSync, readFileSync } from 'node:fs';
import { Cron } from 'croner';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { Duration } from '../config/duration.js';
import { fromWorkingDir } from '../config/working-dir.js';
import { firstYamlError } from '../config/yaml-syntax.js';
import { SegflowError } from '../errors.js';
import { DestinationConfig } from './destinations/destination.js';
import { playbookIssueMessage } from './playbook-messages.js';

/**
 * A playbook (YAML): the decision matrix. Each play maps a segment to an offer on a channel, with its trigger,
 * re-entry policy, priority, primary KPI, content variants and holdout share; destinations say where each channel
 * delivers; caps and quiet hours guard every delivery.
 */
const NAME = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, - and _ (it is used in keys and URLs)');

const TimeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day HH:MM, e.g. 21:00');

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
const TimeZone = z.string().refine(validTimeZone, 'an IANA time zone, e.g. Europe/Paris or UTC');

/** Why croner refuses a cron expression, or undefined when it accepts it (activate run would fail on it later). */
function cronProblem(cron: string): string | undefined {
  try {
    new Cron(cron, { paused: true });
    return undefined;
  } catch (e) {
    return (e as Error).message
      .replace(/^CronPattern: /, '')
      .replace(/^invalid configuration format \('.*'\), /, '')
      .replace(/\.$/, '');
  }
}

const CronExpression = z.string().superRefine((cron, ctx) => {
  const problem = cronProblem(cron);
  if (problem) {
    ctx.addIssue({
      code: 'custom',
      message: `'${cron}' is not a cron expression (${problem}); write five fields — minute hour day-of-month month day-of-week — e.g. "0 9 * * 1" for Mondays 09:00`,
    });
  }
});

export const Cap = z.strictObject({
  max: z.int().min(1).describe('at most this many messages'),
  per: Duration.describe('in any window of this length, e.g. 7d'),
});
export type Cap = z.infer<typeof Cap>;

export const Trigger = z.discriminatedUnion('on', [
  z.strictObject({ on: z.literal('enter') }),
  z.strictObject({ on: z.literal('exit') }),
  z.strictObject({
    on: z.literal('schedule'),
    cron: CronExpression.describe('five-field cron, e.g. "0 9 * * 1" (Mondays 09:00)'),
    timezone: TimeZone.optional().describe("the play's time zone (default: the playbook's)"),
  }),
]);
export type Trigger = z.infer<typeof Trigger>;

export const ReEntry = z.union([
  z.literal('once').describe('a person gets this play once, ever'),
  z.literal('every_time').describe('every occurrence of the trigger'),
  z
    .strictObject({ at_most_once_per: Duration })
    .describe('at most once per window, e.g. { at_most_once_per: 30d }'),
]);
export type ReEntry = z.infer<typeof ReEntry>;

export const Variant = z.strictObject({
  name: NAME,
  weight: z.number().positive().default(1),
  content: z.record(z.string(), z.unknown()).default({}),
});

export const Play = z.strictObject({
  name: NAME,
  segment: z.string().min(1),
  offer: z.string().min(1).describe('the action or offer, e.g. "loyalty perks"'),
  channel: z.string().min(1).describe('email, webhook, sales, in_app, …: caps count per channel'),
  destination: z.string().min(1).optional().describe('a name under destinations; none = decide() only'),
  trigger: Trigger.default({ on: 'enter' }),
  re_entry: ReEntry.default('once'),
  cadence: z.string().optional().describe('a note for people: how often the play runs'),
  priority: z.int().default(0).describe('higher wins when several plays match one person'),
  kpi: z.string().optional().describe('the primary KPI (measure.kpis, or a built-in one)'),
  purpose: z
    .string()
    .min(1)
    .optional()
    .describe('the consent purpose that must be granted (default: the channel)'),
  holdout: z.number().min(0).max(0.5).default(0).describe('share held out for measurement, e.g. 0.1'),
  variants: z.array(Variant).min(1).optional(),
  content: z.record(z.string(), z.unknown()).default({}).describe('content shared by every variant'),
});
export type Play = z.infer<typeof Play>;

export const Playbook = z
  .strictObject({
    timezone: TimeZone.default('UTC'),
    destinations: z.record(NAME, DestinationConfig).default({}),
    caps: z
      .strictObject({
        global: z.array(Cap).default([]),
        channels: z.record(z.string(), z.array(Cap)).default({}),
      })
      .prefault({}),
    quiet_hours: z
      .strictObject({
        start: TimeOfDay,
        end: TimeOfDay,
        timezone_trait: z.string().default('timezone'),
      })
      .optional(),
    consent: z
      .strictObject({
        /** What to assume for a purpose a person has never answered: opt-in (deny) is the safe default. */
        default: z.enum(['deny', 'allow']).default('deny'),
      })
      .prefault({}),
    retry: z
      .strictObject({
        max_attempts: z.int().min(1).max(50).default(8),
        base: Duration.default('1m'),
        max_delay: Duration.default('6h'),
      })
      .prefault({}),
    plays: z.array(Play).min(1),
  })
  .superRefine((pb, ctx) => {
    const names = new Set<string>();
    pb.plays.forEach((p, i) => {
      if (names.has(p.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['plays', i, 'name'],
          message: `two plays are named '${p.name}'`,
        });
      }
      names.add(p.name);
      if (p.destination && !pb.destinations[p.destination]) {
        ctx.addIssue({
          code: 'custom',
          path: ['plays', i, 'destination'],
          message: `no destination '${p.destination}'; define it under destinations (have: ${Object.keys(pb.destinations).join(', ') || 'none'})`,
        });
      }
    });
  });
export type Playbook = z.infer<typeof Playbook>;

export interface PlaybookProblem {
  file: string;
  line?: number;
  path: string;
  message: string;
}

/** Parse and validate a playbook; problems name the file, line and path. Throws CONFIG_INVALID listing them all. */
export function loadPlaybook(file: string): Playbook {
  return parsePlaybook(readPlaybookFile(file), file);
}

/** The text of a playbook file, or CONFIG_INVALID saying where playbooks are looked for. */
export function readPlaybookFile(file: string): string {
  if (!existsSync(fromWorkingDir(file))) {
    throw new SegflowError(
      'CONFIG_INVALID',
      `no playbook at ${file}`,
      'pass --playbook FILE (see examples/playbooks/classic.yaml)',
    );
  }
  return readFileSync(fromWorkingDir(file), 'utf8');
}

/** A playbook read from text: the playbook when it is valid, every problem otherwise, and the line of any path. */
export interface ReadPlaybook {
  playbook?: Playbook;
  problems: PlaybookProblem[];
  /** The document as plain data (undefined when the YAML does not parse): checks of what it names read this. */
  raw?: unknown;
  /** The line of the deepest node of a path that exists in the file (for problems found after parsing). */
  lineOf(path: readonly (string | number)[]): number | undefined;
}

/**
 * Parse and validate playbook text without throwing: a YAML syntax error is one problem with its line (the parser
 * reports a mistake several times; only the first is where to look), schema problems are sentences that say how to
 * fix them.
 *
 * @example
 * const { playbook, problems } = readPlaybook(text, 'playbook.yaml');
 * for (const p of problems) console.log(formatPlaybookProblem(p));
 */
export function readPlaybook(text: string, file = 'playbook.yaml'): ReadPlaybook {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  const lineOf = (path: readonly (string | number)[]): number | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return counter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const syntax = firstYamlError(doc, counter);
  if (syntax) {
    return {
      problems: [{ file, line: syntax.line, path: '', message: syntax.message }],
      lineOf,
    };
  }
  const raw = doc.toJS();
  const parsed = Playbook.safeParse(raw);
  if (parsed.success) return { playbook: parsed.data, problems: [], raw, lineOf };
  const problems: PlaybookProblem[] = parsed.error.issues.map((i) => {
    const path = i.path.map((k) => (typeof k === 'symbol' ? String(k) : k));
    return { file, line: lineOf(path), path: path.join('.'), message: playbookIssueMessage(i, raw) };
  });
  return { problems, raw, lineOf };
}

/** "file:line path: message", as every playbook problem is printed. */
export function formatPlaybookProblem(p: PlaybookProblem): string {
  return `${p.file}${p.line ? `:${p.line}` : ''} ${p.path || '(file)'}: ${p.message}`;
}

/** Parse and validate playbook text; throws CONFIG_INVALID listing every problem with its line and fix. */
export function parsePlaybook(text: string, file = 'playbook.yaml'): Playbook {
  const { playbook, problems } = readPlaybook(text, file);
  if (playbook) return playbook;
  throw new SegflowError(
    'CONFIG_INVALID',
    problems.map(formatPlaybookProblem).join('\n'),
    problems.some((p) => p.path === '' && /not valid YAML/.test(p.message))
      ? 'fix the YAML syntax at that line'
      : 'fix each line above; docs/activation.md describes the playbook format',
  );
}

/** The consent purpose a play needs. */
export function purposeOf(play: Play): string {
  return play.purpose ?? play.channel;
}
