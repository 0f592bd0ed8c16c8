import type { z } from 'zod';
import { didYouMeanSuffix } from '../shared/did-you-mean.js';

/**
 * Playbook validation problems in words a person can act on: the validator's own text ("Invalid discriminator
 * value…", "Unrecognized key") is rewritten into what was found, what is expected and, for a misspelling, the name
 * that was probably meant.
 */

/** The keys an object at a playbook path may have, for "did you mean" on an unknown key. */
function keysAt(path: readonly PropertyKey[]): readonly string[] {
  const p = path.map((k) => (typeof k === 'number' ? '#' : String(k))).join('.');
  switch (p) {
    case '':
      return ['timezone', 'destinations', 'caps', 'quiet_hours', 'consent', 'retry', 'plays'];
    case 'plays.#':
      return [
        'name',
        'segment',
        'offer',
        'channel',
        'destination',
        'trigger',
        're_entry',
        'cadence',
        'priority',
        'kpi',
        'purpose',
        'holdout',
        'variants',
        'content',
      ];
    case 'plays.#.trigger':
      return ['on', 'cron', 'timezone'];
    case 'plays.#.variants.#':
      return ['name', 'weight', 'content'];
    case 'caps':
      return ['global', 'channels'];
    case 'quiet_hours':
      return ['start', 'end', 'timezone_trait'];
    case 'retry':
      return ['max_attempts', 'base', 'max_delay'];
    case 'consent':
      return ['default'];
    default:
      return [];
  }
}

/** What a field expects, where the bare type would not help. */
const EXPECTED: Record<string, string> = {
  re_entry: 'once, every_time or { at_most_once_per: 30d }',
  'trigger.on': 'enter, exit or schedule',
};

function shown(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? 'nothing');
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/** The literal values a union accepted, gathered from its branches' issues (re_entry: once, every_time, …). */
function literalsOf(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'invalid_value') return issue.values.map(String);
  if (issue.code === 'invalid_union') return issue.errors.flat().flatMap(literalsOf);
  return [];
}

/**
 * One validation issue of a playbook as a sentence that says how to fix it.
 *
 * @example
 * playbookIssueMessage(issue, raw) // "'entr' is not a trigger — did you mean 'enter'? use enter, exit or schedule"
 */
export function playbookIssueMessage(issue: z.core.$ZodIssue, root: unknown): string {
  const value = valueAt(root, issue.path);
  const field = issue.path
    .filter((k) => typeof k === 'string')
    .slice(-2)
    .join('.');
  const last = String(issue.path[issue.path.length - 1] ?? '');
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = keysAt(issue.path);
      return issue.keys
        .map(
          (k) =>
            `unknown key '${k}'${known.length ? ` (keys here: ${known.join(', ')})` : ''}${didYouMeanSuffix(k, known)}`,
        )
        .join('; ');
    }
    case 'invalid_union': {
      // A discriminated union's issue lists its options (zod adds them beside the documented fields).
      const listed = (issue as { options?: unknown }).options;
      const options = Array.isArray(listed) ? listed.map(String) : literalsOf(issue);
      const expected = EXPECTED[field] ?? EXPECTED[last] ?? options.join(', ');
      if (value === undefined) return `required: ${expected}`;
      const near = typeof value === 'string' ? didYouMeanSuffix(value, options) : '';
      const what = field === 'trigger.on' ? 'a trigger' : `a valid ${last}`;
      return `${shown(value)} is not ${what}; use ${expected}${near}`;
    }
    case 'invalid_value': {
      const options = issue.values.map(String);
      const near = typeof value === 'string' ? didYouMeanSuffix(value, options) : '';
      return `${shown(value)} is not allowed; use ${options.join(', ')}${near}`;
    }
    case 'invalid_type':
      if (value === undefined) return `required: ${EXPECTED[last] ?? `a ${issue.expected}`}`;
      return `${shown(value)} is not a ${issue.expected}; write a ${issue.expected} here`;
    case 'too_big':
      return `${shown(value)} is too large: at most ${String(issue.maximum)}`;
    case 'too_small':
      if (issue.origin === 'array') return `must have at least ${String(issue.minimum)} entry`;
      if (issue.origin === 'string') return 'must not be empty';
      return `${shown(value)} is too small: at least ${String(issue.minimum)}`;
    default:
      // Custom checks and regex formats already carry a sentence written for people.
      return issue.message;
  }
}
