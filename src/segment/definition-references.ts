import type { Condition } from './definition.js';

/**
 * What a segment definition names outside itself: the features it reads and the segments it refers to, each with
 * its path in the file, so a problem with one is reported at its own line when the files are loaded.
 */
export interface DefinitionReferences {
  features: { name: string; path: (string | number)[] }[];
  segments: { name: string; path: (string | number)[] }[];
}

/**
 * The features and segments one condition tree names, with their paths (starting at `where`).
 *
 * @example
 * definitionReferences({ and: [{ inSegment: 'champion' }, { feature: 'rfm.recency_days', lte: 30 }] })
 * // { segments: [{ name: 'champion', path: ['where', 'and', 0, 'inSegment'] }], features: [{ name: 'rfm.recency_days', … }] }
 */
export function definitionReferences(where: Condition): DefinitionReferences {
  const out: DefinitionReferences = { features: [], segments: [] };
  const walk = (c: Condition, path: (string | number)[]): void => {
    if ('and' in c) {
      for (const [i, x] of c.and.entries()) walk(x, [...path, 'and', i]);
    } else if ('or' in c) {
      for (const [i, x] of c.or.entries()) walk(x, [...path, 'or', i]);
    } else if ('not' in c) walk(c.not, [...path, 'not']);
    else if ('account' in c) {
      const mode = 'any' in c.account ? 'any' : 'all';
      walk('any' in c.account ? c.account.any : c.account.all, [...path, 'account', mode]);
    } else if ('inSegment' in c) out.segments.push({ name: c.inSegment, path: [...path, 'inSegment'] });
    else if ('notInSegment' in c)
      out.segments.push({ name: c.notInSegment, path: [...path, 'notInSegment'] });
    else if ('feature' in c) out.features.push({ name: c.feature, path: [...path, 'feature'] });
  };
  walk(where, ['where']);
  return out;
}
