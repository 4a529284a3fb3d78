#!/usr/bin/env node
// The `ratchet` command. Installed (under node_modules): the build, in this process. In the Ratchet
// repository: the CLI's TypeScript source, run with tsx and the "source" export condition (the
// workspace packages resolve to their src/; runSource), so no build step is needed.
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
if (here.includes(`${sep}node_modules${sep}`)) {
  await import('../dist/main.js');
} else {
  const { runSource } = await import('@ratchet/launchers/run-source');
  runSource('ratchet', fileURLToPath(new URL('../src/main.ts', import.meta.url)));
}
