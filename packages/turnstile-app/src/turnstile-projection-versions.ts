import { ValidationError } from '@ratchet/core';

/** The turnstile projection versions there are. */
export type TurnstileProjectionVersion = 1 | 2;

const LIST = /^[12](,[12])*$/;

/**
 * The turnstile projection versions to run, from `TURNSTILE_PROJECTION_VERSIONS` ("1", or "1,2"
 * while v2 is rebuilt beside v1, then "2"); default `[1]`. The variable belongs to the turnstile
 * app, not to the projector service: another app lists its projection versions in its own code.
 * Throws a ValidationError naming the variable, so the process loading the app stops with it.
 * @example
 * turnstileProjectionVersions({ TURNSTILE_PROJECTION_VERSIONS: '1,2' }); // [1, 2]
 */
export function turnstileProjectionVersions(env: NodeJS.ProcessEnv = process.env): TurnstileProjectionVersion[] {
  const raw = (env.TURNSTILE_PROJECTION_VERSIONS ?? '').trim();
  if (raw === '') return [1];
  if (!LIST.test(raw)) {
    const message = `comma-separated versions among 1, 2 (got "${raw}")`;
    throw new ValidationError(`invalid configuration: TURNSTILE_PROJECTION_VERSIONS: ${message}`, [
      { path: ['TURNSTILE_PROJECTION_VERSIONS'], message },
    ]);
  }
  return [...new Set(raw.split(',').map((v) => Number(v) as TurnstileProjectionVersion))];
}
