import type { App } from '@ratchet/app';
import type { Projection } from '@ratchet/projector';
import { usageError } from './cli-error.js';

/** The projection names the app runs, each once. */
export function projectionNamesOf(app: App): string[] {
  return [...new Set(app.projections.map((p) => p.name))];
}

/** Fail with a usage error unless the app has a projection of that name. */
export function requireProjectionName(app: App, name: string): void {
  if (!app.projections.some((p) => p.name === name)) {
    const known = projectionNamesOf(app);
    throw usageError(`unknown projection "${name}" (app ${app.name} has ${known.length === 0 ? 'none' : known.join(', ')})`);
  }
}

/**
 * The app's projection version, or a usage error naming the versions it lists. An app lists the
 * versions that run (docs/architecture.md): building a new one means listing it, in the app and so
 * for the CLI too (the turnstile app: TURNSTILE_PROJECTION_VERSIONS=1,2).
 */
export function projectionNamed(app: App, name: string, version: number): Projection {
  requireProjectionName(app, name);
  const projection = app.projections.find((p) => p.name === name && p.version === version);
  if (projection === undefined) {
    const versions = app.projections.filter((p) => p.name === name).map((p) => p.version);
    throw usageError(
      `app ${app.name} lists no version ${version} of projection ${name} (it lists ${versions.join(', ')}): add it to the app's projections first`,
    );
  }
  return projection;
}
