import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const NODE_MODULES = `${sep}node_modules${sep}`;

/**
 * The project the CLI works for: `ratchet dev` runs its processes from there and keeps `.data/`
 * (servers' data, logs, `demo.json`) in it. In this repository, the checkout's root. Installed, the
 * directory whose node_modules holds the CLI, when the working directory is inside it; else (a global
 * install, npx's cache) the working directory.
 */
export function projectDir(cwd: string = process.cwd()): string {
  const here = fileURLToPath(import.meta.url);
  const at = here.indexOf(NODE_MODULES);
  // src/ and dist/ are both two levels below the repository's packages/cli.
  if (at === -1) return fileURLToPath(new URL('../../../', import.meta.url)).replace(/[\\/]$/, '');
  const installedIn = here.slice(0, at);
  return cwd === installedIn || cwd.startsWith(`${installedIn}${sep}`) ? installedIn : cwd;
}
