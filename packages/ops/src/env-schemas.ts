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
