import type { Projection } from '@ratchet/projector';
import { defineTurnstileProjection } from '@ratchet/turnstile-projections';
import { usageError } from './cli-error.js';

/** A projection the CLI can build: its known versions and how to define one. */
export interface ProjectionEntry {
  readonly versions: readonly number[];
  define(version: number): Projection;
}

/** The projections the projector service can run, by name (the projector service's list). */
export const PROJECTIONS: Readonly<Record<string, ProjectionEntry>> = {
  turnstile: { versions: [1, 2], define: (version) => defineTurnstileProjection({ version: version as 1 | 2 }) },
};

/** The projection version, or a usage error naming what is known. */
export function projectionNamed(name: string, version: number): Projection {
  const entry = Object.hasOwn(PROJECTIONS, name) ? PROJECTIONS[name] : undefined;
  if (entry === undefined) throw usageError(`unknown projection "${name}" (known: ${Object.keys(PROJECTIONS).join(', ')})`);
  if (!entry.versions.includes(version)) {
    throw usageError(`projection ${name} has no version ${version} (known: ${entry.versions.join(', ')})`);
  }
  return entry.define(version);
}
