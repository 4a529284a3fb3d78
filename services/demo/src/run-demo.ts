import { mkdir } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findFreePort } from '@ratchet/launchers';
import { verifyTurnstiles, type Simulator } from '@ratchet/simulator';
import type { Logger } from 'pino';
import { checkPortsFree, type WantedPort } from './check-ports.js';
import { needsProjector, type DemoApp } from './demo-app.js';
import type { DemoOptions } from './demo-options.js';
import { demoStateFile, writeDemoState } from './demo-state.js';
import { demoSummary } from './demo-summary.js';
import type { Cleanups, Infrastructure } from './infrastructure.js';
import { pickInfrastructure } from './pick-infrastructure.js';
import { ride } from './ride.js';

/** What the demo needs from its caller. */
export interface RunDemoContext {
  readonly options: DemoOptions;
  /** The app every process serves (`loadDemoApp`): the turnstile app with riders, or the user's. */
  readonly app: DemoApp;
  /** The project directory (the repo root in this repository): service processes run from there. */
  readonly root: string;
  /** Where servers' data, logs and `demo.json` go. Default `<root>/.data`. */
  readonly dataDir?: string;
  readonly log: Logger;
  /** Aborted on SIGINT/SIGTERM: the demo stops its riders and everything it started. */
  readonly signal: AbortSignal;
  /** Aborted on a second Ctrl-C: the service processes are SIGKILLed at once. */
  readonly kill?: AbortSignal;
  /** Where the human lines (the URLs) and the headless JSON line go. */
  readonly print: (line: string) => void;
}

/** The URLs a run serves, for the greeting and `demo.json`. */
interface Served {
  readonly dashboardUrl?: string;
  readonly gatewayUrl?: string;
  readonly webUrl?: string;
}

/**
 * Run an app on whatever infrastructure {@link pickInfrastructure} finds (servers, or embedded in
 * this process): workers, the projector (when the app has projections or processes), and unless
 * headless the gateway, the dashboard and the app's web server; the turnstile demo's riders too.
 * Until the duration passes or the signal aborts; then stop everything it started, the servers
 * last. Headless (the turnstile demo), print one JSON summary line (with the read-model check) and
 * resolve with the exit code.
 */
export async function runDemo(ctx: RunDemoContext): Promise<number> {
  const { options, app, log, signal } = ctx;
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
    // A taken port would otherwise fail the run only after the servers and workers started.
    await checkPortsFree(wantedPorts(options, app));
    const infra = await pickInfrastructure({
      root: ctx.root,
      app,
      dataDir,
      logDir,
      fresh: options.fresh,
      log,
      signal,
      ...(ctx.kill === undefined ? {} : { kill: ctx.kill }),
    });
    cleanups.push(() => infra.stop());
    log.info({ infrastructure: infra.label, app: app.app.name, file: app.file }, 'infrastructure');
    if (signal.aborted) return 0;
    // Migrate once here so the workers do not all race to it.
    await infra.store.migrate();
    const workers = await infra.startServices(options.workers, cleanups);
    if (signal.aborted) return 0;

    const client = await infra.connectClient();
    cleanups.push(() => client.close());
    let simulator: Simulator | undefined;
    const served = options.headless ? {} : await startFrontEnds(ctx, infra, client, () => simulator, cleanups);
    if (signal.aborted) return 0;
    // The CLI reads the servers and the app from here: `ratchet send …` needs no flags while it runs.
    const removeState = await writeDemoState(dataDir, {
      pid: process.pid,
      ...(infra.urls === undefined ? {} : { natsUrl: infra.urls.nats, databaseUrl: infra.urls.database }),
      ...served,
      app: app.file,
      appName: app.app.name,
      partitions: Number(process.env.RATCHET_PARTITIONS || 64),
      distributed: infra.distributed,
    });
    cleanups.push(async () => removeState());
    if (!options.headless) greet(ctx, infra, workers, served, dataDir);

    if (!app.riders) {
      await sleep(options.duration === undefined ? 2 ** 31 - 1 : options.duration * 1_000, undefined, { signal }).catch(() => undefined);
      return 0;
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

/** The fixed ports this run will listen on (0 = any free one, never taken). */
function wantedPorts(options: DemoOptions, app: DemoApp): WantedPort[] {
  if (options.headless) return [];
  return [
    { what: 'the dashboard', port: options.port, flag: '--port' },
    { what: 'the gateway', port: options.gatewayPort, flag: '--gateway-port' },
    ...(app.web === undefined ? [] : [{ what: "the app's web server", port: options.webPort, flag: '--web-port' }]),
  ];
}

/** The dashboard, the gateway and the app's web server, in that order (they stop in the reverse one). */
async function startFrontEnds(
  ctx: RunDemoContext,
  infra: Infrastructure,
  client: Awaited<ReturnType<Infrastructure['connectClient']>>,
  simulator: () => Simulator | undefined,
  cleanups: Cleanups,
): Promise<Served> {
  const { options, app, log } = ctx;
  const dashboardPort = await infra.startDashboard({ port: options.port, client, simulator }, cleanups);
  const gatewayPort = await infra.startGateway({ port: options.gatewayPort, client }, cleanups);
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const served = { dashboardUrl: `http://127.0.0.1:${dashboardPort}/`, gatewayUrl: `${gatewayUrl}/` };
  if (app.web === undefined) return served;
  if (infra.startWeb === undefined) {
    log.warn(
      { web: app.web },
      "embedded mode does not run the app's web server: it needs Postgres and NATS at URLs, which embedded mode has not",
    );
    return served;
  }
  const webPort = options.webPort === 0 ? await findFreePort() : options.webPort;
  await infra.startWeb({ entry: app.web, port: webPort, gatewayUrl }, cleanups);
  return { ...served, webUrl: `http://127.0.0.1:${webPort}/` };
}

/** The lines for people: what runs, where to look, how to try it, how to stop it. */
function greet(ctx: RunDemoContext, infra: Infrastructure, workers: number, served: Served, dataDir: string): void {
  const { options, app } = ctx;
  const warning = infra.warning === undefined ? '' : `, ${infra.warning}`;
  const running = `${workers === 1 ? '1 worker' : `${workers} workers`}${needsProjector(app.app) ? ', a projector' : ''}`;
  if (app.riders) {
    ctx.print(
      `Ratchet turnstile demo${warning}: ${running}, ${options.turnstiles} turnstiles, ${options.riders} riders at ${options.rate || 'max'} commands/s`,
    );
  } else {
    ctx.print(`Ratchet dev: app ${app.app.name} (${shortPath(app.file)})${warning}: ${running}`);
  }
  if (served.dashboardUrl !== undefined) ctx.print(`Dashboard: ${served.dashboardUrl}`);
  if (served.gatewayUrl !== undefined) ctx.print(`Gateway: ${served.gatewayUrl}  (POST /commands/<type>/<id>, GET /openapi.json)`);
  if (served.webUrl !== undefined) ctx.print(`Web: ${served.webUrl}`);
  if (infra.urls !== undefined) {
    ctx.print(`NATS: ${infra.urls.nats}  Postgres: ${redactPassword(infra.urls.database)}`);
    const found = `the CLI finds this ${app.riders ? 'demo' : 'app'} through ${shortPath(demoStateFile(dataDir))}`;
    ctx.print(app.riders ? `Try: npx ratchet send turnstile t-1 install   (${found})` : `Try: ${tryLine(app, found)}`);
  }
  ctx.print(`${infra.logDir === undefined ? '' : `Logs: ${infra.logDir}. `}Ctrl-C stops everything.`);
}

/** `npx ratchet send <type> <id> <command> …` with the app's first aggregate and its commands. */
function tryLine(app: DemoApp, found: string): string {
  const first = app.app.aggregates[0];
  if (first === undefined) return `npx ratchet send <type> <id> <command> [payload-json]   (${found})`;
  const commands = Object.keys(first.commands as object);
  return `npx ratchet send ${first.type} <id> ${commands[0] ?? '<command>'} [payload-json]   (${first.type}'s commands: ${commands.join(', ')}; ${found})`;
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
