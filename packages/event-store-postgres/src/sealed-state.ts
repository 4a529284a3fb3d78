import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** The one key of a sealed snapshot state: `{"$sealedState": {…}}`. */
export const SEALED_STATE_KEY = '$sealedState';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * A snapshot state sealed under every subject whose values its stream holds: the key is derived
 * (HKDF-SHA256) from all of their keys, so forgetting any one of them makes the snapshot unreadable
 * and the aggregate is replayed instead (where the forgotten values read as placeholders).
 */
export interface SealedStateEnvelope {
  readonly v: 1;
  /** Sorted, distinct. */
  readonly subjects: readonly string[];
  readonly iv: string;
  readonly data: string;
}

/** The envelope if `state` is a sealed snapshot state, else undefined (a plain state, or not one of ours). */
export function sealedStateOf(state: unknown): SealedStateEnvelope | undefined {
  if (typeof state !== 'object' || state === null || Array.isArray(state)) return undefined;
  const inner = (state as Record<string, unknown>)[SEALED_STATE_KEY];
  if (typeof inner !== 'object' || inner === null) return undefined;
  const e = inner as Partial<SealedStateEnvelope>;
  if (e.v !== 1 || !Array.isArray(e.subjects) || typeof e.iv !== 'string' || typeof e.data !== 'string') return undefined;
  return e as SealedStateEnvelope;
}

function stateKey(keys: readonly Buffer[], subjects: readonly string[]): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.concat(keys), Buffer.alloc(0), `ratchet snapshot v1\n${subjects.join('\n')}`, 32));
}

function aad(streamId: string, version: number): Buffer {
  return Buffer.from(`ratchet snapshot v1\n${streamId}@${version}`, 'utf8');
}

/** Seal a state for its stream and version under the keys of `subjects` (same order: sorted). */
export function sealState(
  streamId: string,
  version: number,
  state: unknown,
  subjects: readonly string[],
  keys: readonly Buffer[],
): { readonly [SEALED_STATE_KEY]: SealedStateEnvelope } {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', stateKey(keys, subjects), iv);
  cipher.setAAD(aad(streamId, version));
  const body = Buffer.concat([cipher.update(JSON.stringify(state), 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return { [SEALED_STATE_KEY]: { v: 1, subjects: [...subjects], iv: iv.toString('base64'), data: body.toString('base64') } };
}

/** The state inside, or undefined when the keys do not open it (a snapshot is a cache: the stream is replayed instead). */
export function openState(streamId: string, version: number, envelope: SealedStateEnvelope, keys: readonly Buffer[]): unknown {
  try {
    const iv = Buffer.from(envelope.iv, 'base64');
    const body = Buffer.from(envelope.data, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', stateKey(keys, envelope.subjects), iv);
    decipher.setAAD(aad(streamId, version));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    const text = Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
