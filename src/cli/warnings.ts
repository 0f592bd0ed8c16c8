import type { Warehouse } from '../engine/warehouse.js';
import { dataEndWarnings } from '../instrument/data-end.js';
import { log } from './output.js';

/**
 * The warnings of a command that reads "as of": each goes to stderr as one line now, and the caller puts the list in
 * its --json document as `warnings`.
 */
export async function asOfWarnings(wh: Warehouse, asOf: Date | undefined): Promise<string[]> {
  const warnings = await dataEndWarnings(wh, asOf ?? new Date());
  for (const w of warnings) log(`warning: ${w}`);
  return warnings;
}
