import { type CatalogEntry, FEATURE_CATALOG, PREDICTED_CATALOG } from './feature-catalog.js';

/**
 * A person's features under the dotted names segments use (`rfm.r`, `adoption.depth.reports`,
 * `funnel.purchase.step`), from a row of the `features` table: so what `segflow features PERSON` shows can be
 * pasted into a segment's `feature:` as it is.
 */

/** JSON value of a features column (the engine returns JSON columns as text). */
function parsed(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/**
 * One features row by dotted feature name, with per-feature and per-funnel names spelled out.
 *
 * @example
 * featuresByName({ rfm_r: 5, adoption_depth: '{"reports":3}', funnel_steps: '{"purchase":2}' })
 * // { 'rfm.r': 5, 'adoption.depth.reports': 3, 'funnel.purchase.step': 2 }
 */
export function featuresByName(row: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const e of FEATURE_CATALOG) if (e.column in row) out[e.name] = row[e.column];
  const depth = parsed(row.adoption_depth);
  if (depth && typeof depth === 'object') {
    for (const [k, v] of Object.entries(depth)) out[`adoption.depth.${k}`] = v;
  }
  const power = parsed(row.adoption_power_features);
  if (Array.isArray(power)) for (const k of power) out[`adoption.power_user.${String(k)}`] = true;
  const steps = parsed(row.funnel_steps);
  if (steps && typeof steps === 'object') {
    for (const [k, v] of Object.entries(steps)) out[`funnel.${k}.step`] = v;
  }
  const abandoned = parsed(row.funnel_abandoned);
  if (abandoned && typeof abandoned === 'object') {
    for (const [k, v] of Object.entries(abandoned)) out[`funnel.${k}.abandoned`] = v;
  }
  return out;
}

/** An entry of `segflow features --list`: a name segments can use, its kind and what it means. */
export type FeatureListEntry = Pick<CatalogEntry, 'name' | 'kind' | 'description'>;

/**
 * Every feature name segments can use: the catalog, the model scores (predicted.*, cluster) and the per-feature and
 * per-funnel names, spelled out for the configured funnels and with a pattern for features seen in the data.
 *
 * @example
 * featureList(['purchase', 'trial']).map((e) => e.name) // [..., 'funnel.purchase.step', 'funnel.trial.abandoned', ...]
 */
export function featureList(funnels: readonly string[]): FeatureListEntry[] {
  const entry = ({ name, kind, description }: CatalogEntry): FeatureListEntry => ({
    name,
    kind,
    description,
  });
  return [
    ...FEATURE_CATALOG.map(entry),
    ...PREDICTED_CATALOG.map(entry),
    {
      name: 'adoption.depth.<feature>',
      kind: 'number',
      description: 'uses of <feature> in the adoption window (the feature named in the Feature Used event)',
    },
    {
      name: 'adoption.power_user.<feature>',
      kind: 'boolean',
      description: 'at least powerUses uses of <feature> in the adoption window',
    },
    ...funnels.flatMap((f): FeatureListEntry[] => [
      {
        name: `funnel.${f}.step`,
        kind: 'number',
        description: `furthest step of the ${f} funnel reached (0: never did the first)`,
      },
      {
        name: `funnel.${f}.abandoned`,
        kind: 'boolean',
        description: `reached a step of the ${f} funnel but not the last, and the window is over`,
      },
    ]),
  ];
}
