import type { CliContext } from '../cli-context.js';
import { projectDir } from '../project-dir.js';
import { demoDataDir } from '../running-demo.js';

/**
 * `ratchet dev [app] [flags]` (and `ratchet demo`, the same with no app): servers, workers, the
 * projector, the gateway, the dashboard and the app's web server in this process's care until
 * Ctrl-C — `@ratchet/demo`'s run, the one `npm run demo` is. Everything after `dev` is its own
 * command line (`ratchet dev --help`).
 */
export async function runDev(ctx: CliContext, positionals: readonly string[]): Promise<number> {
  // Only servers named by a flag are passed on (the env's pass through anyway): the CLI's defaults,
  // NATS on port 4222 or a run already going, would stop it from starting its own.
  if (ctx.options.origins.nats === '--nats') process.env.NATS_URL = ctx.options.nats;
  if (ctx.options.origins.db === '--db' && ctx.options.db !== undefined) process.env.DATABASE_URL = ctx.options.db;
  process.env.RATCHET_PARTITIONS = String(ctx.options.partitions);
  // Loaded on use: every other command stays free of the demo's dependencies (PGlite, the dashboard…).
  const { runDemoMain } = await import('@ratchet/demo');
  return runDemoMain(positionals, { root: projectDir(), dataDir: demoDataDir(ctx.env), cwd: process.cwd() });
}
