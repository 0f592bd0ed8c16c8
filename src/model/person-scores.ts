import { z } from 'zod';
import type { Warehouse } from '../engine/warehouse.js';
import { Timestamp } from '../shared/timestamp.js';

export const PersonScoresSchema = z
  .object({
    personId: z.string(),
    predictions: z
      .record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null(), Timestamp]))
      .nullable()
      .describe("the purchase models' row of `predictions` (P(alive), expected purchases, CLV), or null"),
    scores: z.array(
      z.object({
        score: z.string(),
        value: z.number().nullable(),
        label: z.string().nullable(),
        asOf: Timestamp,
        fitId: z.string(),
      }),
    ),
  })
  .meta({ id: 'PersonScores' });
export type PersonScores = z.output<typeof PersonScoresSchema>;

/**
 * One person's model scores as of T (default: the latest): the purchase models' row from `predictions` and every
 * score in `person_scores`, each from its latest scoring at or before T. Undefined when the identifier is unknown.
 */
export async function personScores(
  wh: Warehouse,
  identifier: string,
  options: { asOf?: Date } = {},
): Promise<PersonScores | undefined> {
  const [who] = await wh.query<{ person_id: string }>(
    'SELECT person_id FROM identities WHERE identifier = ?',
    [identifier],
  );
  if (!who) return undefined;
  const asOf = options.asOf ?? new Date('9999-12-31T00:00:00Z');
  const [predictions] = await wh.query<Record<string, string | number | boolean | Date | null>>(
    'SELECT * FROM predictions WHERE person_id = ? AND as_of <= ? ORDER BY as_of DESC LIMIT 1',
    [who.person_id, asOf],
  );
  const scores = await wh.query<{
    score: string;
    value: number | null;
    label: string | null;
    as_of: Date;
    fit_id: string;
  }>(
    `SELECT score, value, label, as_of, fit_id FROM (
       SELECT *, row_number() OVER (PARTITION BY score ORDER BY as_of DESC) AS k
       FROM person_scores WHERE person_id = ? AND as_of <= ?) WHERE k = 1 ORDER BY score`,
    [who.person_id, asOf],
  );
  return {
    personId: who.person_id,
    predictions: predictions ?? null,
    scores: scores.map((s) => ({
      score: s.score,
      value: s.value,
      label: s.label,
      asOf: s.as_of,
      fitId: s.fit_id,
    })),
  };
}
