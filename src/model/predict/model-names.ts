/** The models `segflow models fit NAME` knows. */
export const MODEL_NAMES = ['bgnbd', 'gammagamma', 'clusters', 'churn', 'purchase', 'propensity'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** The models fitted on purchase summaries: BG/NBD on (x, t_x, T), Gamma-Gamma on (x, m). */
export const PURCHASE_MODELS = ['bgnbd', 'gammagamma'] as const;
export type PurchaseModelName = (typeof PURCHASE_MODELS)[number];

export function isPurchaseModel(name: string): name is PurchaseModelName {
  return (PURCHASE_MODELS as readonly string[]).includes(name);
}
