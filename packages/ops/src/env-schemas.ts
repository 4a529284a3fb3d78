import { z } from 'zod';

/** An integer environment variable (a string in the environment) at least `min`, with a default. */
export function envInt(min: number, fallback: number) {
  return z.coerce.number().int().min(min).default(fallback);
}

/** A boolean environment variable: `true`/`false`/`1`/`0`, with a default. */
export function envBool(fallback: boolean) {
  return z
    .enum(['true', 'false', '1', '0'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');
}

/** The pino log level variable, default `info`. */
export const envLogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');

/**
 * `RATCHET_MASTER_KEY`: the master key that wraps the subject keys of sensitive fields, 32 bytes
 * as base64 or hex (`openssl rand -base64 32`); optional (keys are then stored unwrapped). The
 * value is never echoed in the error message.
 */
export const envMasterKey = z
  .string()
  .regex(/^(?:[0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=)$/, { error: 'RATCHET_MASTER_KEY must be 32 bytes as base64 (44 characters) or hex (64)' })
  .optional();
