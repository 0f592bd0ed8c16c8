import { createHash, randomBytes } from 'node:crypto';
import type { Warehouse } from '../engine/warehouse.js';
import { SegflowError } from '../errors.js';

/**
 * API keys and roles. A key is shown once, when it is created; only its SHA-256 digest is stored, so a copy of the
 * database never yields a usable key. Roles:
 *
 *   write  sends events to the collector (safe to embed in a web page or an app: it can read nothing)
 *   read   reads through the admin API (profiles, segments, reports)
 *   admin  everything: reads, changes, manages keys, and may also send events
 *
 * Verification never waits on SQL in the steady state: the digests of all live keys are held in memory and
 * refreshed in the background (every REFRESH_MS), and keys created or revoked in this process take effect at once.
 */
export const API_KEY_ROLES = ['write', 'read', 'admin'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

/** What a caller may do with a key. */
export type Permission = 'collect' | 'read' | 'admin';

export interface ApiKeyInfo {
  id: string;
  role: ApiKeyRole;
  name: string | null;
  /** The first characters of the key, to tell keys apart; never enough to use it. */
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

export interface VerifiedKey {
  id: string;
  role: ApiKeyRole;
}

const PREFIX_CHARS = 14;
/** How long a snapshot of live keys is trusted before it is refreshed (in the background once one exists). */
const REFRESH_MS = 10_000;

export function isApiKeyRole(value: unknown): value is ApiKeyRole {
  return typeof value === 'string' && (API_KEY_ROLES as readonly string[]).includes(value);
}

export function roleAllows(role: ApiKeyRole, permission: Permission): boolean {
  switch (permission) {
    case 'collect':
      return role === 'write' || role === 'admin';
    case 'read':
      return role === 'read' || role === 'admin';
    case 'admin':
      return role === 'admin';
    default: {
      const never: never = permission;
      throw new Error(`unknown permission ${String(never)}`);
    }
  }
}

function digest(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

interface Snapshot {
  byHash: Map<string, VerifiedKey>;
  loadedAt: number;
}

interface KeyCache {
  snapshot: Snapshot | undefined;
  loading: Promise<Snapshot> | undefined;
  /** Bumped by every change made in this process, so a load that started before it cannot undo it. */
  generation: number;
}

const caches = new WeakMap<Warehouse, KeyCache>();

function cacheOf(wh: Warehouse): KeyCache {
  let c = caches.get(wh);
  if (!c) {
    c = { snapshot: undefined, loading: undefined, generation: 0 };
    caches.set(wh, c);
  }
  return c;
}

function load(wh: Warehouse, cache: KeyCache): Promise<Snapshot> {
  if (cache.loading) return cache.loading;
  const generation = cache.generation;
  const loading = wh
    .query<{ id: string; role: string; key_hash: string }>(
      'SELECT id, role, key_hash FROM api_keys WHERE revoked_at IS NULL',
    )
    .then((rows): Promise<Snapshot> | Snapshot => {
      cache.loading = undefined;
      // A key created or revoked while this read was queued: read again rather than cache a stale list.
      if (generation !== cache.generation) return load(wh, cache);
      const byHash = new Map<string, VerifiedKey>();
      for (const r of rows) if (isApiKeyRole(r.role)) byHash.set(r.key_hash, { id: r.id, role: r.role });
      cache.snapshot = { byHash, loadedAt: Date.now() };
      return cache.snapshot;
    });
  cache.loading = loading;
  loading.catch(() => {
    if (cache.loading === loading) cache.loading = undefined;
  });
  return loading;
}

function toInfo(r: {
  id: string;
  role: string;
  name: string | null;
  prefix: string;
  created_at: Date;
  revoked_at: Date | null;
}): ApiKeyInfo {
  return {
    id: r.id,
    role: r.role as ApiKeyRole,
    name: r.name,
    prefix: r.prefix,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  };
}

/** Create a key. The returned `key` is the only copy there will ever be: show it to the person once. */
export async function createApiKey(
  wh: Warehouse,
  role: ApiKeyRole,
  options: { name?: string } = {},
): Promise<{ key: string } & ApiKeyInfo> {
  if (!isApiKeyRole(role)) {
    throw new SegflowError(
      'USAGE',
      `'${String(role)}' is not a key role`,
      `use one of ${API_KEY_ROLES.join(', ')}: write sends events, read reads the admin API, admin does both and manages keys`,
    );
  }
  const key = `sf_${role}_${randomBytes(32).toString('base64url')}`;
  const id = `key_${randomBytes(6).toString('hex')}`;
  const createdAt = new Date();
  const info: ApiKeyInfo = {
    id,
    role,
    name: options.name ?? null,
    prefix: key.slice(0, PREFIX_CHARS),
    createdAt,
    revokedAt: null,
  };
  await wh.run(
    'INSERT INTO api_keys (id, role, name, prefix, key_hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, NULL)',
    [id, role, info.name, info.prefix, digest(key), createdAt],
  );
  const cache = cacheOf(wh);
  cache.generation++;
  cache.snapshot?.byHash.set(digest(key), { id, role });
  return { key, ...info };
}

/** Revoke a key by id: it stops working at once in this process. Revoking a revoked key changes nothing. */
export async function revokeApiKey(wh: Warehouse, id: string): Promise<ApiKeyInfo> {
  const rows = await wh.query<{
    id: string;
    role: string;
    name: string | null;
    prefix: string;
    key_hash: string;
    created_at: Date;
    revoked_at: Date | null;
  }>('SELECT * FROM api_keys WHERE id = ?', [id]);
  const row = rows[0];
  if (!row) {
    throw new SegflowError(
      'NOT_FOUND',
      `no API key has the id '${id}'`,
      'list keys with `segflow keys list` (or GET /api/v1/keys) and use the id column, not the key itself',
    );
  }
  if (row.revoked_at === null) {
    row.revoked_at = new Date();
    await wh.run('UPDATE api_keys SET revoked_at = ? WHERE id = ?', [row.revoked_at, id]);
  }
  const cache = cacheOf(wh);
  cache.generation++;
  cache.snapshot?.byHash.delete(row.key_hash);
  return toInfo(row);
}

/** Every key (without its secret), newest first; revoked keys only when asked. */
export async function listApiKeys(
  wh: Warehouse,
  options: { includeRevoked?: boolean } = {},
): Promise<ApiKeyInfo[]> {
  const rows = await wh.query<{
    id: string;
    role: string;
    name: string | null;
    prefix: string;
    created_at: Date;
    revoked_at: Date | null;
  }>(
    `SELECT id, role, name, prefix, created_at, revoked_at FROM api_keys
     ${options.includeRevoked ? '' : 'WHERE revoked_at IS NULL'} ORDER BY created_at DESC, id`,
  );
  return rows.map(toInfo);
}

/**
 * The key's id and role, or null for an unknown or revoked key. Answered from memory; the first call on a warehouse
 * loads the live keys, and later ones refresh them in the background when the snapshot is older than REFRESH_MS.
 */
export async function verifyApiKey(wh: Warehouse, key: string): Promise<VerifiedKey | null> {
  const cache = cacheOf(wh);
  let snapshot = cache.snapshot;
  if (!snapshot) snapshot = await load(wh, cache);
  else if (Date.now() - snapshot.loadedAt > REFRESH_MS) void load(wh, cache).catch(() => undefined);
  // Keys are long random strings; anything else cannot match, and is not worth hashing.
  if (key.length < 16 || key.length > 256) return null;
  return snapshot.byHash.get(digest(key)) ?? null;
}

/** Forget the in-memory snapshot (tests, or after keys were changed by another process). */
export function forgetApiKeyCache(wh: Warehouse): void {
  caches.delete(wh);
}
