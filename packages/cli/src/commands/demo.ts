import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { usageError } from '../cli-error.js';
import type { CliContext } from '../cli-context.js';

/** The demo's entry point in this repository. */
export const DEMO_ENTRY = fileURLToPath(new URL('../../../../services/demo/src/main.ts', import.meta.url));

/** `ratchet demo [...]`: run the turnstile demo, every argument after `demo` passed to it as is. */
export async function runDemo(ctx: CliContext, positionals: readonly string[]): Promise<number> {
  if (!existsSync(DEMO_ENTRY)) throw usageError(`the demo is not in this checkout (${DEMO_ENTRY} is missing)`);
  // Only servers named by a flag are passed on (the env's pass through anyway): the CLI's defaults,
  // NATS on port 4222 or a demo already running, would stop the demo from starting its own.
  const env: NodeJS.ProcessEnv = { ...process.env, RATCHET_PARTITIONS: String(ctx.options.partitions) };
  if (ctx.options.origins.nats === '--nats') env['NATS_URL'] = ctx.options.nats;
  if (ctx.options.origins.db === '--db' && ctx.options.db !== undefined) env['DATABASE_URL'] = ctx.options.db;
  const child = spawn(process.execPath, ['--conditions=source', '--import', import.meta.resolve('tsx'), DEMO_ENTRY, ...positionals], {
    stdio: 'inherit',
    env,
  });
  // Ctrl-C reaches the demo through the terminal's process group; we only wait for it.
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  try {
    return await new Promise<number>((resolve) => {
      child.once('error', () => resolve(2));
      child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 130)));
    });
  } finally {
    process.off('SIGINT', ignore);
  }
}
