#!/usr/bin/env node
// The `ratchet-check` command: runs the history checker's TypeScript source with tsx and the "source" export
// condition (workspace packages resolve to their src/), so no build step is needed. Exit codes
// and signals of the child are passed through.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
// tsx resolved from this package, so `ratchet-check` works from any working directory.
const tsx = import.meta.resolve('tsx');
const child = spawn(process.execPath, ['--conditions=source', '--import', tsx, main, ...process.argv.slice(2)], {
  stdio: 'inherit',
});
// Ctrl-C reaches the child through the terminal's process group; the shim only waits for it.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (signal !== 'SIGINT') child.kill(signal);
  });
}
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal === null ? 1 : 128 + (signalNumber(signal) ?? 1));
});
child.on('error', (error) => {
  process.stderr.write(`ratchet-check: cannot start node: ${error.message}\n`);
  process.exitCode = 2;
});

function signalNumber(name) {
  return { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[name];
}
