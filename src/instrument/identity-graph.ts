import type { Warehouse } from '../engine/warehouse.js';
import { killPoint } from './kill-point.js';
import { recordPersonOverrides } from './persons-on-events.js';

/**
 * The identity graph. Every identifier (userId, anonymousId, alias previousId) belongs to exactly one person: the
 * connected component of the graph whose edges are "seen together" (an identify with both ids, an alias, any event
 * carrying both). The component's canonical person id is chosen by a rule of the component alone — its smallest
 * userId, else its smallest anonymous id — so merges are transitive and the result does not depend on the order in
 * which events arrive.
 *
 * Updates are incremental: only the components touched by new events are re-labelled. Since every stored component is
 * already labelled with its best member, the best member of a merged component is the best among the old labels and
 * the newly seen identifiers.
 */

/** Union-find over string keys with path halving. */
class DisjointSets {
  private parent = new Map<string, string>();
  find(x: string): string {
    let p = this.parent.get(x);
    if (p === undefined) {
      this.parent.set(x, x);
      return x;
    }
    let node = x;
    while (p !== node) {
      const gp = this.parent.get(p)!;
      this.parent.set(node, gp);
      node = gp;
      p = this.parent.get(node)!;
    }
    return node;
  }
  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(ra, rb);
  }
}

interface Candidate {
  id: string;
  isUser: boolean;
}

/** Identified beats anonymous; then the smallest id (code-unit order, the same in every engine's binary collation). */
function better(a: Candidate, b: Candidate): boolean {
  if (a.isUser !== b.isUser) return a.isUser;
  return a.id < b.id;
}

const TOUCHED = '_sf_touched';
const TOUCHED_IDS = '_sf_touched_ids';
const REMAP = '_sf_remap';
/**
 * After `updateIdentityGraph`, a scratch table of every identifier its events carried with the person it belongs to
 * now: ingest stamps each new event's person id from it ("persons on events") before dropping it with
 * `dropBatchPersons`.
 */
export const BATCH_PERSONS = '_sf_batch_persons';

/**
 * Apply the identifiers and links carried by `newEvents` (a relation shaped like `events`, read before or after they
 * are stored). Merges of people who already had events are recorded as person overrides (merged-away id → surviving
 * id), which every read of `person_events` applies until a squash folds them into the events.
 * Leaves `BATCH_PERSONS` behind for the caller.
 */
export async function updateIdentityGraph(tx: Warehouse, newEvents: string): Promise<void> {
  const d = tx.dialect;
  // Links, with the first message that made each (kept for audit and for undoing a bad merge).
  await tx.storage.upsert({
    table: 'identity_edges',
    columns: ['a', 'b', 'via', 'message_id', 'ts'],
    key: ['a', 'b'],
    from: {
      select: `SELECT a, b, ${d.argMin('via', 'ts')}, ${d.argMin('message_id', 'ts')}, min(ts) FROM (
        SELECT user_id AS a, anonymous_id AS b, type AS via, message_id, ts FROM ${newEvents}
          WHERE user_id IS NOT NULL AND anonymous_id IS NOT NULL AND user_id <> anonymous_id
        UNION ALL
        SELECT previous_id, user_id, 'alias', message_id, ts FROM ${newEvents}
          WHERE type = 'alias' AND previous_id <> user_id
      ) GROUP BY a, b`,
    },
    update: ['via', 'message_id', 'ts'],
    when: (r) => `${r.incoming('ts')} < ${r.current('ts')}`,
  });

  // The batch's identifiers first, on their own: with their count known, the lookups below read identities through a
  // filter on a few thousand values instead of building a hash table of every identity for each load (at a million
  // people that was ~0.2 s on a quiet machine and 0.5–1.2 s under the realtime benchmark, on every load).
  await tx.storage.createScratch({
    name: TOUCHED_IDS,
    select: `SELECT identifier, ${d.boolOr('is_user')} AS is_user FROM (
        SELECT user_id AS identifier, TRUE AS is_user FROM ${newEvents} WHERE user_id IS NOT NULL
        UNION ALL SELECT anonymous_id, FALSE FROM ${newEvents} WHERE anonymous_id IS NOT NULL
        UNION ALL SELECT previous_id, FALSE FROM ${newEvents} WHERE type = 'alias' AND previous_id IS NOT NULL
      ) GROUP BY identifier`,
  });
  // Each stored identifier's person, and whether that person id is a userId. A person id is one of its identifiers,
  // usually one the batch carries (an identified user's events carry their userId), so identities is read a second
  // time only for the person ids not among them — and not at all when there are none (an empty build side ends a
  // DuckDB join before it reads the other side): at a million people each read of identities is ~45 ms.
  const mat = d.materialized();
  await tx.storage.createScratch({
    name: TOUCHED,
    select: `WITH known AS ${mat} (
        SELECT identifier, person_id, is_user FROM identities WHERE identifier IN (SELECT identifier FROM ${TOUCHED_IDS})),
      owners AS ${mat} (
        SELECT identifier, is_user FROM identities
        WHERE identifier IN (SELECT person_id FROM known WHERE person_id NOT IN (SELECT identifier FROM known)))
    SELECT t.identifier, t.is_user OR coalesce(i.is_user, FALSE) AS is_user, i.person_id,
           i.is_user AS stored_is_user, coalesce(p.is_user, FALSE) AS person_is_user
    FROM ${TOUCHED_IDS} t
    LEFT JOIN known i ON i.identifier = t.identifier
    LEFT JOIN (SELECT identifier, is_user FROM known UNION ALL SELECT identifier, is_user FROM owners) p
      ON p.identifier = i.person_id`,
  });
  await tx.storage.dropScratch(TOUCHED_IDS);

  const sets = new DisjointSets();
  const touched: {
    identifier: string;
    isUser: boolean;
    node: string;
    /** As stored before this batch: null for a new identifier. */
    stored: { personId: string; isUser: boolean } | null;
  }[] = [];
  const personKind = new Map<string, boolean>();
  for await (const rows of tx.stream<{
    identifier: string;
    is_user: boolean;
    person_id: string | null;
    stored_is_user: boolean | null;
    person_is_user: boolean;
  }>(`SELECT identifier, is_user, person_id, stored_is_user, person_is_user FROM ${TOUCHED}`)) {
    for (const r of rows) {
      // A stored identifier stands for its whole component, labelled by its person id.
      const node = r.person_id ?? r.identifier;
      if (r.person_id !== null) personKind.set(r.person_id, r.person_is_user);
      sets.find(node);
      const stored =
        r.person_id === null ? null : { personId: r.person_id, isUser: Boolean(r.stored_is_user) };
      touched.push({ identifier: r.identifier, isUser: r.is_user, node, stored });
    }
  }
  const nodeOf = new Map<string, string>();
  for (const t of touched) nodeOf.set(t.identifier, t.node);
  for await (const rows of tx.stream<{ a: string; b: string }>(`SELECT DISTINCT a, b FROM (
      SELECT user_id AS a, anonymous_id AS b FROM ${newEvents} WHERE user_id IS NOT NULL AND anonymous_id IS NOT NULL
      UNION ALL SELECT previous_id, user_id FROM ${newEvents} WHERE type = 'alias')`)) {
    for (const e of rows) sets.union(nodeOf.get(e.a)!, nodeOf.get(e.b)!);
  }

  // The best candidate per component: old labels (with their kind) and every touched identifier.
  const best = new Map<string, Candidate>();
  const offer = (c: Candidate, node: string) => {
    const root = sets.find(node);
    const cur = best.get(root);
    if (!cur || better(c, cur)) best.set(root, c);
  };
  for (const [personId, isUser] of personKind) offer({ id: personId, isUser }, personId);
  for (const t of touched) offer({ id: t.identifier, isUser: t.isUser }, t.node);

  const remaps: [string, string][] = [];
  let storedChanged = 0;
  for (const [personId] of personKind) {
    const target = best.get(sets.find(personId))!.id;
    if (target !== personId) remaps.push([personId, target]);
  }
  await tx.storage.createScratch({
    name: BATCH_PERSONS,
    columns: [
      ['identifier', 'text'],
      ['person_id', 'text'],
      ['is_user', 'boolean'],
      ['changed', 'boolean'],
      ['is_new', 'boolean'],
    ],
    rows: (function* () {
      for (const t of touched) {
        const personId = best.get(sets.find(t.node))!.id;
        // Merges move the identifiers of a merged-away person below (the remap); the writes below touch only new
        // identifiers and changed ones.
        const changed = !t.stored || t.stored.personId !== personId || t.stored.isUser !== t.isUser;
        if (t.stored && changed) storedChanged++;
        yield [t.identifier, personId, t.isUser, changed, !t.stored];
      }
    })(),
  });
  if (remaps.length > 0) {
    await tx.storage.createScratch({
      name: REMAP,
      columns: [
        ['old_id', 'text'],
        ['new_id', 'text'],
      ],
      rows: remaps,
    });
    // The override first, then the move: on an engine without atomic transactions (ClickHouse) a load cut short in
    // between is retried, and the retry finds the merge to make only while the identifiers have not moved. Moved
    // first, the retry would see one person already and never record the override, leaving the merged-away
    // person's stored events with a person id that no longer exists.
    await recordPersonOverrides(tx, REMAP);
    killPoint('identity:mid-merge');
    await tx.storage.updateFrom({
      table: 'identities',
      from: { table: REMAP },
      match: { person_id: 'old_id' },
      set: { person_id: 'new_id' },
    });
    await tx.storage.dropScratch(REMAP);
  }
  // New identifiers are appended: they were looked up above, in this transaction, and the warehouse has one writer,
  // so none can be stored meanwhile. An upsert of them read every identity to find the keys (a MERGE joins the whole
  // table: ~0.1–0.2 s per load at a million people); only stored identifiers that changed (a merge, an identify of
  // an anonymous id) still take it, and most loads have none. Known, unchanged identifiers are not written at all.
  await tx.run(
    `INSERT INTO identities (identifier, person_id, is_user)
     SELECT identifier, person_id, is_user FROM ${BATCH_PERSONS} WHERE is_new`,
  );
  if (storedChanged > 0) {
    await tx.storage.upsert({
      table: 'identities',
      columns: ['identifier', 'person_id', 'is_user'],
      key: ['identifier'],
      from: {
        select: `SELECT identifier, person_id, is_user FROM ${BATCH_PERSONS} WHERE changed AND NOT is_new`,
      },
      update: ['person_id', 'is_user'],
    });
  }
  await tx.storage.dropScratch(TOUCHED);
}

/** Drop the scratch table `updateIdentityGraph` left behind. */
export async function dropBatchPersons(tx: Warehouse): Promise<void> {
  await tx.storage.dropScratch(BATCH_PERSONS);
}

/** The person an identifier (userId, anonymousId or a person id) belongs to, or null when it was never seen. */
export async function resolvePerson(wh: Warehouse, identifier: string): Promise<string | null> {
  const rows = await wh.query<{ person_id: string }>(
    'SELECT person_id FROM identities WHERE identifier = ?',
    [identifier],
  );
  return rows[0]?.person_id ?? null;
}

/** Every identifier of the person that `identifier` belongs to. */
export async function identifiersOf(
  wh: Warehouse,
  identifier: string,
): Promise<{ identifier: string; isUser: boolean }[]> {
  const rows = await wh.query<{ identifier: string; is_user: boolean }>(
    `SELECT identifier, is_user FROM identities WHERE person_id = (SELECT person_id FROM identities WHERE identifier = ?)
     ORDER BY is_user DESC, identifier`,
    [identifier],
  );
  return rows.map((r) => ({ identifier: r.identifier, isUser: r.is_user }));
}
