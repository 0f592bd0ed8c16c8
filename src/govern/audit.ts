import { userInfo } from 'node:os';
import { z } from 'zod';
import type { Warehouse } from '../engine/warehouse.js';
import { Timestamp } from '../shared/timestamp.js';

/**
 * The audit log: append-only rows of who (an API key id, or the CLI's OS user), what (an action and its target),
 * when and from where. Written for every change of a definition, playbook or key, and every read of one person's
 * data. Keys themselves and traits are never written here.
 */
export interface AuditEntry {
  actor: string;
  action: string;
  target?: string | null;
  source?: string | null;
  detail?: Record<string, unknown>;
  at?: Date;
}

/** A row of `audit_log`, as readAudit returns it and the admin API prints it. */
export const AuditRowSchema = z
  .object({
    id: z.number(),
    occurred_at: Timestamp,
    actor: z.string(),
    action: z.string(),
    target: z.string().nullable(),
    source: z.string().nullable(),
    detail: z.string().nullable().describe('JSON text'),
  })
  .meta({ id: 'AuditEntry' });
export type AuditRow = z.output<typeof AuditRowSchema>;

/** The actor of a command-line call. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}

export async function recordAudit(wh: Warehouse, e: AuditEntry): Promise<void> {
  await wh.run(
    `INSERT INTO audit_log (id, occurred_at, actor, action, target, source, detail)
     SELECT coalesce(max(id), 0) + 1, ?, ?, ?, ?, ?, ? FROM audit_log`,
    [
      e.at ?? new Date(),
      e.actor,
      e.action,
      e.target ?? null,
      e.source ?? null,
      e.detail ? JSON.stringify(e.detail) : null,
    ],
  );
}

export async function readAudit(
  wh: Warehouse,
  o: { since?: Date; action?: string; limit?: number } = {},
): Promise<AuditRow[]> {
  const where: string[] = [];
  const params: (Date | string | number)[] = [];
  if (o.since) {
    where.push('occurred_at >= ?');
    params.push(o.since);
  }
  if (o.action) {
    where.push('action = ?');
    params.push(o.action);
  }
  return wh.query<AuditRow & Record<string, unknown>>(
    `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
    [...params, o.limit ?? 1000],
  );
}

/**
 * A segment's change log, newest first: its definition created or changed at a refresh (`segment.create`,
 * `segment.change`, with the version), its file written by the dashboard (`segment.file.create`, `.change`) and its
 * retirement (`segment.retire`). Only entries about segments, so a read key may see it: the rest of the audit log
 * (keys, privacy requests, reads of people) stays for admins.
 */
export async function segmentChangeLog(wh: Warehouse, segment: string, limit = 100): Promise<AuditRow[]> {
  return wh.query<AuditRow & Record<string, unknown>>(
    `SELECT * FROM audit_log WHERE target = ? AND action LIKE 'segment.%' ORDER BY id DESC LIMIT ?`,
    [segment, limit],
  );
}

/** Definition versions of a table with (name, version): segments or plays. */
export async function definitionVersions(
  wh: Warehouse,
  table: 'segments' | 'plays',
): Promise<Map<string, number>> {
  const rows = await wh.query<{ name: string; version: number }>(`SELECT name, version FROM ${table}`);
  return new Map(rows.map((r) => [r.name, Number(r.version)]));
}

/** Audit every definition created or changed since `before` (a snapshot of definitionVersions). */
export async function auditDefinitionChanges(
  wh: Warehouse,
  table: 'segments' | 'plays',
  before: Map<string, number>,
  actor: { actor: string; source?: string },
): Promise<void> {
  const kind = table === 'segments' ? 'segment' : 'play';
  for (const [name, version] of await definitionVersions(wh, table)) {
    const was = before.get(name);
    if (was === version) continue;
    await recordAudit(wh, {
      ...actor,
      action: was === undefined ? `${kind}.create` : `${kind}.change`,
      target: name,
      detail: { version, previous: was ?? null },
    });
  }
}
