import type { Warehouse } from '../engine/warehouse.js';
import {
  checkStage,
  dropStage,
  type IngestCounts,
  type IngestOptions,
  RAW_TABLE,
  stageFromRaw,
  storeChecked,
} from './ingest.js';

/**
 * Ingest messages held in memory (library callers, the collector's batches). Each is serialized once and staged as
 * raw JSON text, then runs through the same SQL pipeline as file imports, in one transaction.
 */
export async function ingestMessages(
  wh: Warehouse,
  messages: readonly unknown[],
  options: IngestOptions,
): Promise<IngestCounts> {
  return ingestJsonTexts(
    wh,
    messages.map((m) => JSON.stringify(m) ?? 'null'),
    options,
  );
}

/** Ingest JSON texts, one message each (row numbers are their 1-based positions). */
export async function ingestJsonTexts(
  wh: Warehouse,
  texts: readonly string[],
  options: IngestOptions,
): Promise<IngestCounts> {
  return wh.transaction(async (tx) => {
    // Leftovers of a failed ingest are rolled back with it; dropping first is for belt and braces.
    await dropStage(tx);
    await tx.run(`CREATE TEMP TABLE ${RAW_TABLE} (row_no BIGINT, raw VARCHAR)`);
    await tx.append(
      RAW_TABLE,
      ['row_no', 'raw'],
      texts.map((t, i) => [i + 1, t]),
    );
    await checkStage(tx, stageFromRaw(tx.dialect, RAW_TABLE), [], options.receivedAt);
    const counts = await storeChecked(tx, options);
    await dropStage(tx);
    return counts;
  });
}
