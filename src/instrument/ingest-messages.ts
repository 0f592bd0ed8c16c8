import type { Warehouse } from '../engine/warehouse.js';
import {
  checkPrepared,
  checkStage,
  dropStage,
  type IngestCounts,
  type IngestOptions,
  RAW_TABLE,
  RECORD_TABLE,
  stageFromRaw,
  storeChecked,
} from './ingest.js';
import { type PreparedMessage, prepareMessage } from './prepare-message.js';

/**
 * Ingest messages held in memory (library callers, the collector's batches), in one transaction. Plainly valid
 * messages take the fast path (prepare-message.ts); the rest are staged as JSON text and checked in SQL, the same
 * pipeline as file imports.
 */
export async function ingestMessages(
  wh: Warehouse,
  messages: readonly unknown[],
  options: IngestOptions,
): Promise<IngestCounts> {
  const receivedAt = options.receivedAt ?? new Date();
  return ingestPrepared(
    wh,
    messages.map((m) => prepareMessage(m, receivedAt)),
    { ...options, receivedAt },
  );
}

/** Ingest prepared messages (row numbers are their 1-based positions). */
export async function ingestPrepared(
  wh: Warehouse,
  prepared: readonly PreparedMessage[],
  options: IngestOptions,
): Promise<IngestCounts> {
  const records: [number, string][] = [];
  const raw: [number, string][] = [];
  prepared.forEach((p, i) => {
    if ('record' in p) records.push([i + 1, p.record]);
    else raw.push([i + 1, p.raw]);
  });
  return wh.transaction(async (tx) => {
    // No leftovers to drop first: a failed ingest's temp tables are rolled back with its transaction.
    await tx.storage.createScratch({
      name: RECORD_TABLE,
      columns: [
        ['row_no', 'bigint'],
        ['rec', 'text'],
      ],
      rows: records,
    });
    if (raw.length > 0) {
      await tx.storage.createScratch({
        name: RAW_TABLE,
        columns: [
          ['row_no', 'bigint'],
          ['raw', 'text'],
        ],
        rows: raw,
      });
    }
    await checkPrepared(tx, { raw: raw.length > 0 }, options.receivedAt ?? new Date());
    const counts = await storeChecked(tx, options);
    await dropStage(tx);
    return counts;
  });
}

/** Ingest JSON texts, one message each, all checked in SQL (row numbers are their 1-based positions). */
export async function ingestJsonTexts(
  wh: Warehouse,
  texts: readonly string[],
  options: IngestOptions,
): Promise<IngestCounts> {
  return wh.transaction(async (tx) => {
    await dropStage(tx);
    await tx.storage.createScratch({
      name: RAW_TABLE,
      columns: [
        ['row_no', 'bigint'],
        ['raw', 'text'],
      ],
      rows: texts.map((t, i) => [i + 1, t]),
    });
    await checkStage(tx, stageFromRaw(tx.dialect, RAW_TABLE), [], options.receivedAt);
    const counts = await storeChecked(tx, options);
    await dropStage(tx);
    return counts;
  });
}
