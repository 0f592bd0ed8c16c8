import { z } from 'zod';
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
  const r = LEAF_CONDITIONS[kinds[0]!].safeParse(node);
  if (!r.success)
    for (const i of r.error.issues)
      out.push({
        path: [...path, ...i.path.map((p) => (typeof p === 'symbol' ? String(p) : p))],
        message: i.message,
      });
}

export function validateDefinition(raw: unknown): {
  definition?: SegmentDefinition;
  problems: DefinitionProblem[];
} {
  const problems: DefinitionProblem[] = [];
  const top = TopLevel.safeParse(raw);
  if (!top.success) {
    for (const i of top.error.issues) {
      problems.push({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message });
    }
  }
  if (typeof raw === 'object' && raw !== null && 'where' in raw)
    walk((raw as { where: unknown }).where, ['where'], problems);
  else if (!problems.some((p) => p.path[0] === 'where'))
    problems.push({ path: ['where'], message: 'required: the condition' });
  if (problems.length > 0) return { problems };
  return { definition: SegmentDefinition.parse(raw), problems };
}
