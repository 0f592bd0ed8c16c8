import { z } from 'zod';
import { didYouMeanSuffix } from '../shared/did-you-mean.js';
import { LEAF_CONDITIONS, type LeafConditionKind, SegmentDefinition } from './definition.js';

/**
 * Validation with errors a person can act on: the condition tree is walked node by node and each node is checked
 * against the schema of its own kind, so a mistake is reported at its exact path ("where.and.1.performed.within: a
 * duration like 30m, 12h, 7d or 2w") instead of as "no union member matched".
 */
export interface DefinitionProblem {
  path: (string | number)[];
  message: string;
}

const LOGIC = ['and', 'or', 'not'] as const;
const KINDS = [...LOGIC, ...(Object.keys(LEAF_CONDITIONS) as LeafConditionKind[])];

const TopLevel = SegmentDefinition.extend({ where: z.unknown() });

function closest(word: string): string | undefined {
  const score = (k: string) => {
    const a = word.toLowerCase();
    const b = k.toLowerCase();
    let same = 0;
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] === b[i]) same++;
    return same / Math.max(a.length, b.length);
  };
  const best = [...KINDS].sort((x, y) => score(y) - score(x))[0]!;
  return score(best) >= 0.5 ? best : undefined;
}

function walk(node: unknown, path: (string | number)[], out: DefinitionProblem[]): void {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) {
    out.push({
      path,
      message: `a condition must be an object with one key naming its kind (${KINDS.join(', ')})`,
    });
    return;
  }
  const keys = Object.keys(node);
  const logic = LOGIC.filter((k) => k in node);
  if (logic.length > 0) {
    if (keys.length !== 1) {
      out.push({
        path,
        message: `'${logic[0]}' must be alone in its object; put other conditions inside it`,
      });
      return;
    }
    const value = (node as Record<string, unknown>)[logic[0]!];
    if (logic[0] === 'not') walk(value, [...path, 'not'], out);
    else if (!Array.isArray(value) || value.length === 0) {
      out.push({ path: [...path, logic[0]!], message: 'a non-empty list of conditions' });
    } else {
      for (const [i, c] of value.entries()) walk(c, [...path, logic[0]!, i], out);
    }
    return;
  }
  const kinds = (Object.keys(LEAF_CONDITIONS) as LeafConditionKind[]).filter((k) => k in node);
  if (kinds.length !== 1) {
    const unknown = keys.find((k) => !KINDS.includes(k as (typeof KINDS)[number]));
    const hint = unknown && closest(unknown) ? ` — did you mean '${closest(unknown)}'?` : '';
    out.push({
      path,
      message:
        kinds.length === 0
          ? `no condition kind here (keys: ${keys.join(', ') || 'none'})${hint}; use one of ${KINDS.join(', ')}`
          : `one condition per object, found ${kinds.join(' and ')}; combine them with and / or`,
    });
    return;
  }
  const schema = LEAF_CONDITIONS[kinds[0]!];
  const r = schema.safeParse(node);
  if (!r.success) for (const i of r.error.issues) out.push(...problemsOf(schema, i, path));
}

/** A validator issue as problems a person can act on: an unknown key gets the key that was meant, if near. */
function problemsOf(
  schema: z.ZodType,
  issue: z.core.$ZodIssue,
  base: readonly (string | number)[],
): DefinitionProblem[] {
  const at = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  if (issue.code !== 'unrecognized_keys') return [{ path: [...base, ...at], message: issue.message }];
  const known = keysAt(schema, at);
  // The path ends at the key itself, so the problem points at its line.
  return issue.keys.map((key) => ({
    path: [...base, ...at, key],
    message: `unknown key '${key}'${known.length ? ` (keys here: ${known.join(', ')})` : ''}${didYouMeanSuffix(key, known)}`,
  }));
}

/** The keys the object at `path` inside a condition's schema takes (none when the path is not an object). */
function keysAt(schema: z.ZodType, path: readonly (string | number)[]): string[] {
  let s: z.core.$ZodType | undefined = schema;
  const unwrap = () => {
    for (;;) {
      const def: z.core.$ZodTypeDef | undefined = s?._zod.def;
      if (def && 'innerType' in def) s = def.innerType as z.core.$ZodType;
      else if (def?.type === 'pipe' && 'in' in def) s = def.in as z.core.$ZodType;
      else break;
    }
  };
  for (const key of path) {
    unwrap();
    const def: z.core.$ZodTypeDef | undefined = s?._zod.def;
    if (def?.type === 'object' && typeof key === 'string') s = (def as z.core.$ZodObjectDef).shape[key];
    else if (def?.type === 'array') s = (def as z.core.$ZodArrayDef).element;
    else return [];
  }
  unwrap();
  const def: z.core.$ZodTypeDef | undefined = s?._zod.def;
  return def?.type === 'object' ? Object.keys((def as z.core.$ZodObjectDef).shape) : [];
}

export function validateDefinition(raw: unknown): {
  definition?: SegmentDefinition;
  problems: DefinitionProblem[];
} {
  const problems: DefinitionProblem[] = [];
  const top = TopLevel.safeParse(raw);
  if (!top.success) {
    for (const i of top.error.issues) problems.push(...problemsOf(TopLevel, i, []));
  }
  if (typeof raw === 'object' && raw !== null && 'where' in raw)
    walk((raw as { where: unknown }).where, ['where'], problems);
  else if (!problems.some((p) => p.path[0] === 'where'))
    problems.push({ path: ['where'], message: 'required: the condition' });
  if (problems.length > 0) return { problems };
  return { definition: SegmentDefinition.parse(raw), problems };
}
