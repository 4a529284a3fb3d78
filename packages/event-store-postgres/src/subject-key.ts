import { inspect } from 'node:util';
import { ErrorCode, RatchetError } from '@ratchet/core';

const BYTES = new WeakMap<SubjectKey, Buffer>();

/**
 * A data subject's 256-bit key in memory. It prints, logs and serialises as `[redacted]`, so a
 * logger handed an object that holds one never writes it; only this package reads its bytes.
 */
export class SubjectKey {
  readonly subject: string;

  constructor(subject: string, bytes: Buffer) {
    this.subject = subject;
    BYTES.set(this, bytes);
  }

  toJSON(): string {
    return '[redacted]';
  }

  toString(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return `SubjectKey(${this.subject}) [redacted]`;
  }
}

/** The key's bytes (package-internal: not exported from the package's entry). */
export function keyBytes(key: SubjectKey): Buffer {
  const bytes = BYTES.get(key);
  // Every SubjectKey sets its bytes in its constructor.
  if (bytes === undefined) throw new RatchetError(ErrorCode.INTERNAL, `SubjectKey(${key.subject}) has no bytes`);
  return bytes;
}
