import { ErrorCode, RatchetError } from '@ratchet/core';

/**
 * Why a sealed value could not be opened: its subject has no key and no recorded forget
 * (`missing-key`), its key was wrapped by another master key or none is configured
 * (`wrong-master-key`), the key does not open it (`wrong-key`: another key, or changed bytes), or
 * the envelope is not one this version reads (`malformed`).
 */
export type SensitiveDataFailure = 'missing-key' | 'wrong-master-key' | 'wrong-key' | 'malformed';

/**
 * A sealed sensitive value could not be opened (code `SENSITIVE_DATA_UNREADABLE`, never
 * retryable): a configuration problem or damage, never a forgotten subject (whose values read as
 * their placeholder). The message and details name the subject and the reason, never a key.
 */
export class SensitiveDataError extends RatchetError {
  override readonly name = 'SensitiveDataError';
  readonly reason: SensitiveDataFailure;
  readonly subject: string | undefined;

  constructor(reason: SensitiveDataFailure, message: string, subject?: string, options: ErrorOptions = {}) {
    super(ErrorCode.SENSITIVE_DATA_UNREADABLE, message, { ...options, details: { reason, ...(subject === undefined ? {} : { subject }) } });
    this.reason = reason;
    this.subject = subject;
  }
}
