import { mkdir } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifyTurnstiles, type Simulator } from '@ratchet/simulator';
import type { Logger } from 'pino';
import type { DemoOptions } from './demo-options.js';
import { demoStateFile, writeDemoState } from './demo-state.js';
import { demoSummary } from './demo-summary.js';
import type { Cleanups } from './infrastructure.js';
import { pickInfrastructure } from './pick-infrastructure.js';
import { ride } from './ride.js';

/** What the demo needs from its caller. */
export interface RunDemoContext {
  readonly options: DemoOptions;
  /** The repo root. */
  readonly root: string;
  /** Where servers' data, logs and `demo.json` go. Default `<root>/.data`. */
  readonly dataDir?: string;
  readonly log: Logger;
  /** Aborted on SIGINT/SIGTERM: the demo stops its riders and everything it started. */
  readonly signal: AbortSignal;
  /** Aborted on a second Ctrl-C: the service processes are SIGKILLed at once. */
  readonly kill?: AbortSignal;
  /** Where the human lines (dashboard URL) and the headless JSON line go. */
  readonly print: (line: string) => void;
}

/**
 * Run the turnstile demo on whatever infrastructure {@link pickInfrastructure} finds (servers, or
 * embedded in this process): workers, projector, dashboard (unless headless) and riders, until the
 * duration passes or the signal aborts; then stop everything it started. Headless, print one JSON
 * summary line (with the read-model check) and resolve with the exit code.
 */
export async function runDemo(ctx: RunDemoContext): Promise<number> {
  const { options, log, signal } = ctx;
  const dataDir = ctx.dataDir ?? join(ctx.root, '.data');
  const logDir = join(dataDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const cleanups: Cleanups = [];
  const cleanup = async (): Promise<void> => {
    for (const step of cleanups.splice(0).reverse()) {
      await step().catch((error: unknown) => log.warn({ err: error }, 'cleanup step failed'));
    }
  };
  try {
    const infra = await pickInfrastructure({ root: ctx.root, dataDir, logDir, fresh: options.fresh, log, signal, ...(ctx.kill === undefined ? {} : { kill: ctx.kill }) });
    cleanups.push(() => infra.stop());
    log.info({ infrastructure: infra.label }, 'infrastructure');
    if (signal.aborted) return 0;
    // Migrate once here so the workers do not all race to it.
    await infra.store.migrate();
    const workers = await infra.startServices(options.workers, cleanups);
    if (signal.aborted) return 0;

    const client = await infra.connectClient();
    cleanups.push(() => client.close());
    let simulator: Simulator | undefined;
    const port = options.headless ? undefined : await infra.startDashboard({ port: options.port, client, simulator: () => simulator }, cleanups);
    const dashboardUrl = port === undefined ? undefined : `http://127.0.0.1:${String(port)}/`;
    // The CLI reads the servers from here: `ratchet send …` needs no flags while the demo runs.
    const removeState = await writeDemoState(dataDir, {
      pid: process.pid,
      ...(infra.urls === undefined ? {} : { natsUrl: infra.urls.nats, databaseUrl: infra.urls.database }),
      ...(dashboardUrl === undefined ? {} : { dashboardUrl }),
      partitions: Number(process.env['RATCHET_PARTITIONS'] || 64),
      distributed: infra.distributed,
    });
    cleanups.push(async () => removeState());
    if (dashboardUrl !== undefined) {
      const name = `Ratchet turnstile demo${infra.warning === undefined ? '' : `, ${infra.warning}`}`;
      ctx.print(`${name}: ${workers === 1 ? '1 worker' : `${workers} workers`}, a projector, ${options.turnstiles} turnstiles, ${options.riders} riders at ${options.rate || 'max'} commands/s`);
      ctx.print(`Dashboard: ${dashboardUrl}`);
      if (infra.urls !== undefined) {
        ctx.print(`NATS: ${infra.urls.nats}  Postgres: ${redactPassword(infra.urls.database)}`);
        ctx.print(`Try: npx ratchet send turnstile t-1 install   (the CLI finds this demo through ${shortPath(demoStateFile(dataDir))})`);
      }
      ctx.print(`${infra.logDir === undefined ? '' : `Logs: ${infra.logDir}. `}Ctrl-C stops everything.`);
    }

    const sim = await ride({ client, options, log, signal, cleanups, onStart: (s) => (simulator = s) });
    // After a Ctrl-C, give the commands in flight a moment to be answered; closing the client ends the rest.
    await Promise.race([sim.stop(), sleep(signal.aborted ? 3_000 : 60_000)]);
    if (signal.aborted || !options.headless) return 0;

    const stats = sim.stats();
    log.info('riders stopped; waiting for the projector to catch up, then checking the read model against the event store');
    const check = await verifyTurnstiles({ pool: infra.pool, store: infra.store, timeoutMs: 60_000 });
    const summary = demoSummary(stats, check, { workers, turnstiles: options.turnstiles, distributed: infra.distributed });
    if (!check.consistent) log.error({ mismatches: check.mismatches, caughtUp: check.caughtUp }, 'read model differs from the event store');
    await cleanup();
    ctx.print(JSON.stringify(summary));
    return check.consistent ? 0 : 1;
  } finally {
    await cleanup();
  }
}

/** A URL fit to print: its password, if any, masked. */
function redactPassword(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

/** `path` relative to the working directory when it is inside it, else as it is. */
function shortPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}
