import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Find an executable by name on PATH, then in `fallbackDirs`; `undefined` when it is nowhere.
 * @example
 * findExecutable('nats-server', ['/usr/sbin']);
 */
export function findExecutable(name: string, fallbackDirs: readonly string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...fallbackDirs].filter((d) => d !== '');
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
