import type { Params } from '../engine/params.js';

/**
 * The contract between segments and the features they read: a feature column as SQL, and the relation the columns
 * come from. The model step provides a FeatureSource; compile.ts and feature-expression.ts consume it.
 */
export interface FeatureColumn {
  /** SQL over the feature relation's alias `f`. */
  sql: string;
  kind: 'number' | 'text' | 'boolean';
  /** A relation the column's alias reads from, joined on person_id once per query (model scores, clusters). */
  relation?: { alias: string; sql(params: Params, asOf: Date): string };
}

/** Where feature conditions read from: a relation with person_id and feature columns (the model step provides it). */
export interface FeatureSource {
  /** SQL relation (may use `$asOf` placeholders provided by `params`). */
  relation(params: Params, asOf: Date): string;
  column(name: string): FeatureColumn | undefined;
  names(): readonly string[];
}
