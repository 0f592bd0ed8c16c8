import { AsyncLocalStorage } from 'node:async_hooks';
import type { Warehouse } from '../engine/warehouse.js';

/**
 * A CLI command that `segflow serve` runs for another process (the CLI beside a running server): where its output
 * goes and which database it uses. Commands never look at this directly: `output.ts` writes through it and
 * `withWarehouse` hands out the server's open database instead of opening the file the server holds.
 */
export interface Invocation {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether the caller's stderr is a terminal (progress bars are drawn only then, as without the server). */
  stderrIsTTY: boolean;
  /** The database the server holds, used as it is and never closed by the command. */
  warehouse: Warehouse;
  /**
   * Resolves once every event the server's collector acknowledged before the call is in the warehouse (its intake log
   * loaded that far): a backup calls it after noting its start time, so "acknowledged before the start" holds.
   */
  settled?: () => Promise<void>;
}

const invocations = new AsyncLocalStorage<Invocation>();

export function currentInvocation(): Invocation | undefined {
  return invocations.getStore();
}

export function withInvocation<T>(invocation: Invocation, fn: () => Promise<T>): Promise<T> {
  return invocations.run(invocation, fn);
}
