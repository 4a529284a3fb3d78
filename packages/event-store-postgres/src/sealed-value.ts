import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { FORGOTTEN } from '@ratchet/core';
import { SensitiveDataError } from './sensitive-data-error.js';

/** The one key of the object that stands where a sensitive value was: `{"$sealed": {…}}`. */
export const SEALED_KEY = '$sealed';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * A sealed value as stored in an event's data and carried in its JetStream message (docs/protocol.md,
 * *Sealed values*): format version, subject, and — unless the subject was already forgotten when the
 * value was stored — the AES-256-GCM iv and ciphertext ‖ tag (base64) of the value's JSON text.
 * `placeholder` is there only when the field names one other than {@link FORGOTTEN}.
 */
export interface SealedEnvelope {
  readonly v: 1;
  readonly subject: string;
  readonly iv?: string;
  readonly data?: string;
  readonly placeholder?: unknown;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The envelope if `value` is a sealed value (an object whose one key is `$sealed`), else undefined. */
export function sealedEnvelopeOf(value: unknown): SealedEnvelope | undefined {
  if (!isPlainObject(value)) return undefined;
  const inner = value[SEALED_KEY];
  if (inner === undefined || Object.keys(value).length !== 1) return undefined;
  if (!isPlainObject(inner) || inner.v !== 1 || typeof inner.subject !== 'string') {
    throw new SensitiveDataError('malformed', 'a sealed value that is not of format 1 (v, subject)');
  }
  return inner as unknown as SealedEnvelope;
}

function aad(subject: string): Buffer {
  return Buffer.from(`ratchet sealed value v1\n${subject}`, 'utf8');
}

/**
 * Seal a value for its subject: encrypted under `key`, or, when the subject is forgotten (`key`
 * null), an envelope with no ciphertext at all — a value of someone forgotten is never stored.
 */
export function sealValue(
  subject: string,
  key: Buffer | null,
  value: unknown,
  placeholder: unknown,
): { readonly [SEALED_KEY]: SealedEnvelope } {
  const extra = placeholder === FORGOTTEN ? {} : { placeholder };
  if (key === null) return { [SEALED_KEY]: { v: 1, subject, ...extra } };
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(subject));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return { [SEALED_KEY]: { v: 1, subject, iv: iv.toString('base64'), data: body.toString('base64'), ...extra } };
}

/** What a sealed value reads as once its subject is forgotten. */
export function placeholderOf(envelope: SealedEnvelope): unknown {
  return 'placeholder' in envelope ? envelope.placeholder : FORGOTTEN;
}

/** Whether the envelope holds a ciphertext (false: stored after its subject was forgotten). */
export function hasCiphertext(envelope: SealedEnvelope): boolean {
  return envelope.data !== undefined;
}

/** The value inside an envelope; SensitiveDataError (`wrong-key`, `malformed`) when `key` does not open it. */
export function openValue(envelope: SealedEnvelope, key: Buffer): unknown {
  const { subject } = envelope;
  if (typeof envelope.iv !== 'string' || typeof envelope.data !== 'string') {
    throw new SensitiveDataError('malformed', `a sealed value of subject "${subject}" without iv or data`, subject);
  }
  const iv = Buffer.from(envelope.iv, 'base64');
  const body = Buffer.from(envelope.data, 'base64');
  if (iv.length !== IV_BYTES || body.length < TAG_BYTES) {
    throw new SensitiveDataError('malformed', `a sealed value of subject "${subject}" with a bad iv or data length`, subject);
  }
  let text: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(aad(subject));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    text = Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch (cause) {
    throw new SensitiveDataError(
      'wrong-key',
      `the key of subject "${subject}" does not open its sealed value (another key, or changed bytes)`,
      subject,
      { cause },
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new SensitiveDataError('malformed', `a sealed value of subject "${subject}" that is not JSON inside`, subject, { cause });
  }
}
