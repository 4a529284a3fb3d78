import { createHash } from 'node:crypto';
import type { CommandRequest } from './command-request.js';

/** JSON with object keys sorted (by UTF-16 code units) at every depth and no whitespace. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * SHA-256 (hex) of what makes two commands the same: type, id, command type, payload, expected version.
 * The worker stores it with the command id, and answers COMMAND_ID_REUSED when an id comes back with
 * another hash. Metadata is left out: retries may carry different trace or correlation data.
 */
export function requestHash(aggregateType: string, request: CommandRequest): string {
  const canonical = canonicalJson({
    aggregateType,
    id: request.id,
    type: request.command.type,
    payload: request.command.payload,
    expectedVersion: request.expectedVersion ?? null,
  });
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}
