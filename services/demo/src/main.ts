// `npm run demo` (the turnstile demo, `ratchet dev` with no app) and `node … main.ts <app>`: the
// run as a process, from this repository. `ratchet dev` runs the same thing (runDemoMain) in the
// CLI's process, wherever the packages are installed.
import { fileURLToPath } from 'node:url';
import { runDemoMain } from './demo-main.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
process.exit(await runDemoMain(process.argv.slice(2), { root }));
