import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The absolute file an app path names: a `file:` URL, an absolute path, or a path relative to
 * `cwd` (default the process's working directory, as a shell user expects of `RATCHET_APP=./src/app.ts`).
 * @example
 * resolveAppPath('./src/app.ts', '/srv/shop'); // '/srv/shop/src/app.ts'
 */
export function resolveAppPath(path: string, cwd: string = process.cwd()): string {
  if (path.startsWith('file:')) return fileURLToPath(path);
  return isAbsolute(path) ? resolve(path) : resolve(cwd, path);
}
