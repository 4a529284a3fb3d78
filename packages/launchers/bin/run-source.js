// What the bin shims of `ratchet` and `ratchet-check` share: run a package's TypeScript entry in a
// child node with tsx and the "source" export condition (the workspace packages resolve to their
// src/), so no build step is needed; exit codes and signals of that child are passed through.
// Plain JavaScript, so it runs before anything is built.
import { spawn } from 'node:child_process';

/**
 * Run `main` (a TypeScript file) with this process's arguments, as `command` (named in the error
 * when node cannot start); this process exits as the child did.
 * @param {string} command
 * @param {string} main
 */
export function runSource(command, main) {
  // tsx resolved from this package, so the command works from any working directory.
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
    process.stderr.write(`${command}: cannot start node: ${error.message}\n`);
    process.exitCode = 2;
  });
}

/** @param {string} name */
function signalNumber(name) {
  return { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[name];
}
