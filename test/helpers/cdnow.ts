import { readFileSync } from 'node:fs';
import { openWarehouse } from '../../src/engine/open.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { importFile } from '../../src/instrument/import/import-file.js';

/**
 * CDNOW purchase histories computed straight from the text file, independently of the SQL under test, with the
 * literature's conventions (Fader, Hardie & Lee 2005; Hardie's cdnowSummary): purchases on the same day are one
 * purchase, x counts the days with purchases after the first, times are days / 7 in weeks, and T runs from the
 * first purchase to 1997-09-30 (the calibration period's last day).
 */
export interface CdnowHistory {
  customerId: string;
  /** The sample's own id (1..2357) for CDNOW_sample.txt; undefined for the master file. */
  sampleId: number | undefined;
  x: number;
  tx: number;
  T: number;
  /** Mean value of the repeat days' purchases (each day summed); 0 when x = 0. */
  m: number;
  /** Days with purchases in the holdout (1997-10-01 .. 1998-06-30). */
  holdout: number;
}

const DAY_MS = 86_400_000;
const dayNumber = (yyyymmdd: string) =>
  Date.UTC(Number(yyyymmdd.slice(0, 4)), Number(yyyymmdd.slice(4, 6)) - 1, Number(yyyymmdd.slice(6, 8))) /
  DAY_MS;

export function cdnowHistories(path: string): CdnowHistory[] {
  const isSample = path.includes('sample');
  const lastCalibrationDay = dayNumber('19970930');
  const byCustomer = new Map<string, { sampleId: number | undefined; days: Map<number, number> }>();
  for (const line of readFileSync(path, 'utf8').split(/\r?\n/)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[0] === 'customer_id') continue;
    const [id, sampleId, date, , dollars] = isSample ? f : [f[0], undefined, f[1], f[2], f[3]];
    let c = byCustomer.get(id!);
    if (!c) {
      c = { sampleId: sampleId === undefined ? undefined : Number(sampleId), days: new Map() };
      byCustomer.set(id!, c);
    }
    const day = dayNumber(date!);
    c.days.set(day, (c.days.get(day) ?? 0) + Number(dollars));
  }
  const out: CdnowHistory[] = [];
  for (const [customerId, c] of byCustomer) {
    const days = [...c.days.keys()].sort((a, b) => a - b);
    const cal = days.filter((d) => d <= lastCalibrationDay);
    const first = cal[0]!;
    const repeat = cal.slice(1);
    out.push({
      customerId,
      sampleId: c.sampleId,
      x: repeat.length,
      tx: (cal[cal.length - 1]! - first) / 7,
      T: (lastCalibrationDay - first) / 7,
      m: repeat.length ? repeat.reduce((s, d) => s + c.days.get(d)!, 0) / repeat.length : 0,
      holdout: days.length - cal.length,
    });
  }
  return out;
}

/** A fresh in-memory warehouse holding a CDNOW file imported with the `cdnow` preset. */
export async function cdnowWarehouse(path: string): Promise<Warehouse> {
  const wh = await openWarehouse({ path: ':memory:' });
  await importFile(wh, { path, preset: 'cdnow', rejectsPath: null });
  return wh;
}

/** The literature's calibration window for CDNOW: 1997-01-01 to 1997-09-30 inclusive, holdout to 1998-06-30. */
export const CDNOW_WINDOW = {
  start: new Date('1997-01-01T00:00:00Z'),
  end: new Date('1997-10-01T00:00:00Z'),
  holdoutEnd: new Date('1998-07-01T00:00:00Z'),
};

/** Significant digits as people compare published figures: 4.4136 → "4.41". */
export function sig(value: number, digits = 3): string {
  return Number(value.toPrecision(digits)).toString();
}
