#!/usr/bin/env node
// The `ratchet` command. Installed (under node_modules): the build, in this process. In the Ratchet
// repository: the CLI's TypeScript source, run with tsx and the "source" export condition (the
// workspace packages resolve to their src/), so no build step is needed; exit codes and signals of
// that child are passed through.
import { spawn } from 'node:child_process';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
if (here.includes(`${sep}node_modules${sep}`)) {
  await import('../dist/main.js');
} else {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  // tsx resolved from this package, so `ratchet` works from any working directory.
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
    process.stderr.write(`ratchet: cannot start node: ${error.message}\n`);
    process.exitCode = 2;
  });
}

function signalNumber(name) {
  return { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[name];
}
