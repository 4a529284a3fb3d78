import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { SensitiveDataError } from './sensitive-data-error.js';
import { invalid } from './store-input.js';

/** `wrapped_by` of a subject key stored unwrapped (no master key configured). */
export const UNWRAPPED = 'none';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The master key that wraps every subject key before it is stored (envelope encryption): a dump of
 * the database, a backup or a role that reads `subject_keys` gets wrapped keys, useless without it.
 * Keep it outside Postgres (a secret of the deployment, `RATCHET_MASTER_KEY`). Prints as `[redacted]`.
 */
export class MasterKey {
  /** A short fingerprint naming the key in `subject_keys.wrapped_by` (not secret: a hash). */
  readonly id: string;
  readonly #bytes: Buffer;

  constructor(bytes: Buffer) {
    if (bytes.length !== 32) {
      invalid('invalid master key: it must be 32 bytes, base64 or hex (openssl rand -base64 32)', [
        { path: ['masterKey'], message: 'must be 32 bytes, base64 or hex' },
      ]);
    }
    this.#bytes = Buffer.from(bytes);
    this.id = `master:${createHash('sha256').update('ratchet master key id\0').update(bytes).digest('hex').slice(0, 16)}`;
  }

  /** A subject key as stored: AES-256-GCM under this key, bound to its subject (iv ‖ ciphertext ‖ tag). */
  wrap(subject: string, key: Buffer): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#bytes, iv);
    cipher.setAAD(Buffer.from(`ratchet subject key v1\n${subject}`, 'utf8'));
    const body = Buffer.concat([cipher.update(key), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]);
  }

  /** The subject key inside `wrapped`; SensitiveDataError(`wrong-master-key`) when this key did not wrap it for this subject. */
  unwrap(subject: string, wrapped: Buffer): Buffer {
    try {
      const iv = wrapped.subarray(0, IV_BYTES);
      const tag = wrapped.subarray(wrapped.length - TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', this.#bytes, iv);
      decipher.setAAD(Buffer.from(`ratchet subject key v1\n${subject}`, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(wrapped.subarray(IV_BYTES, wrapped.length - TAG_BYTES)), decipher.final()]);
    } catch (cause) {
      throw new SensitiveDataError(
        'wrong-master-key',
        `the key of subject "${subject}" does not unwrap with master key ${this.id}`,
        subject,
        { cause },
      );
    }
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return `MasterKey(${this.id}) [redacted]`;
  }
}

/**
 * A master key from its text form: 32 bytes as base64 (44 characters) or hex (64).
 * @example
 * const masterKey = parseMasterKey(process.env.RATCHET_MASTER_KEY!);
 */
export function parseMasterKey(text: string): MasterKey {
  const trimmed = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  return new MasterKey(bytes);
}
