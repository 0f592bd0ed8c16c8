import type { Warehouse } from '../engine/warehouse.js';

/**
 * Drop one features snapshot (its rows, its account roll-up and its line in the refresh log). Streaming evaluation
 * writes a snapshot per evaluation when segments read features; each replaces the one before, which would otherwise
 * pile up at several snapshots a second. Snapshots made by a cycle or a command are history and are never dropped.
 *
 * @example
 * await dropFeatureSnapshot(wh, new Date('2026-05-04T12:00:00Z'));
 */
export async function dropFeatureSnapshot(wh: Warehouse, asOf: Date): Promise<void> {
  await wh.transaction(async (tx) => {
    await tx.run('DELETE FROM features WHERE as_of = ?', [asOf]);
    await tx.run('DELETE FROM account_features WHERE as_of = ?', [asOf]);
    await tx.run('DELETE FROM feature_refreshes WHERE as_of = ?', [asOf]);
  });
}
