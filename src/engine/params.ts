import type { SqlValue } from './warehouse.js';

/** Bound parameters for SQL built in pieces: `add` returns the placeholder (`$n`) of a new value. */
export class Params {
  readonly values: SqlValue[] = [];
  add(value: SqlValue): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}
