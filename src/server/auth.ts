import type { Warehouse } from '../engine/warehouse.js';
import { type Permission, roleAllows, type VerifiedKey, verifyApiKey } from '../govern/api-keys.js';
import { HttpError } from './http-error.js';

/**
 * Credentials, as Segment-spec SDKs send them: `Authorization: Basic base64(writeKey:)`, or the writeKey in the body,
 * or (OAuth-style) `Authorization: Bearer <token>` with the writeKey in the body. The admin API takes
 * `Authorization: Bearer <key>` (Basic with the key as user name works too).
 */
export interface HeaderCredential {
  scheme: 'basic' | 'bearer';
  key: string;
}

/** The key in an Authorization header, undefined when there is none, 'malformed' when it cannot be read. */
export function credentialFromHeader(header: string | undefined): HeaderCredential | undefined | 'malformed' {
  if (header === undefined || header.trim() === '') return undefined;
  const m = /^\s*(\w+)\s+(\S+)\s*$/.exec(header);
  if (!m) return 'malformed';
  const scheme = m[1]!.toLowerCase();
  const value = m[2]!;
  if (scheme === 'bearer') return { scheme, key: value };
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = colon >= 0 ? decoded.slice(0, colon) : decoded;
    return user ? { scheme, key: user } : 'malformed';
  }
  return 'malformed';
}

export function missingKey(kind: 'collector' | 'admin'): HttpError {
  return kind === 'collector'
    ? new HttpError(
        401,
        'AUTH_MISSING',
        'no write key: send Authorization: Basic base64(writeKey:) or "writeKey" in the body',
        'create one with `segflow keys create --role write` and set it as the SDK write key',
      )
    : new HttpError(
        401,
        'AUTH_MISSING',
        'no API key: send Authorization: Bearer <key>',
        'create one with `segflow keys create --role read` (or admin)',
      );
}

export function malformedHeader(): HttpError {
  return new HttpError(
    401,
    'AUTH_INVALID',
    'the Authorization header cannot be read',
    'send Authorization: Basic base64(writeKey:) or Authorization: Bearer <key>',
  );
}

/** Verify a key for a permission: 401 for an unknown or revoked key, 403 for a key whose role does not allow it. */
export async function authorize(wh: Warehouse, key: string, permission: Permission): Promise<VerifiedKey> {
  const verified = await verifyApiKey(wh, key);
  if (!verified) {
    throw new HttpError(
      401,
      'AUTH_INVALID',
      'the key is unknown or has been revoked',
      'check the key (it is shown only once, when created); list live keys with `segflow keys list`',
    );
  }
  if (!roleAllows(verified.role, permission)) {
    const needs =
      permission === 'collect'
        ? 'a write (or admin) key'
        : permission === 'read'
          ? 'a read (or admin) key'
          : 'an admin key';
    throw new HttpError(
      403,
      'AUTH_FORBIDDEN',
      `a ${verified.role} key cannot do this: it needs ${needs}`,
      'create a key with the right role: `segflow keys create --role …`',
    );
  }
  return verified;
}
