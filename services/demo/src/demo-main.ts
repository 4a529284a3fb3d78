import { join } from 'node:path';
import { RatchetError } from '@ratchet/core';
import { needsProjector, loadDemoApp, type DemoApp } from './demo-app.js';
import { createDemoLogger } from './demo-logger.js';
import { DemoUsage, parseDemoOptions, type DemoOptions } from './demo-options.js';
import { NoInfrastructureError } from './no-infrastructure-error.js';
import { runDemo } from './run-demo.js';

/** Where {@link runDemoMain} runs. */
export interface DemoMainOptions {
  /** The project directory (the repo root in this repository): service processes run from there. */
  readonly root: string;
  /** Where servers' data, logs and `demo.json` go. Default `$RATCHET_DATA_DIR`, else `<root>/.data`. */
  readonly dataDir?: string;
  /** What a relative app path is resolved against. Default the working directory. */
  readonly cwd?: string;
}

// One Ctrl-C under `npm run demo` arrives twice: from the terminal and forwarded by npm. Signals
// within this window of the first count as that one, not as the second Ctrl-C that kills.
const SAME_CTRL_C_MS = 1_000;

/** What one Ctrl-C stops, in order, for this run: said on the terminal when it comes. */
function stopLine(options: DemoOptions, app: DemoApp): string {
  const front = [
    ...(app.riders ? ['the riders'] : []),
    ...(options.headless ? [] : [...(app.web === undefined ? [] : ["the app's web server"]), 'the gateway', 'the dashboard']),
    ...(needsProjector(app.app) ? ['the projector'] : []),
  ];
  const last = front.at(-1);
  const first = front.length <= 1 || last === undefined ? front.join('') : `${front.slice(0, -1).join(', ')} and ${last}`;
  return `Stopping: ${first === '' ? '' : `${first}, then `}the workers (they drain), then the servers. Ctrl-C again to kill them at once.`;
}

/**
 * `ratchet dev [app] [flags]` and `npm run demo` as a whole: parse the command line, load the app,
 * run it until Ctrl-C (or the duration), and resolve with the exit code — 0, 1 when the headless
 * check failed or the run broke, 2 for a bad command line or app, 3 when there is nowhere to run.
 * stdout gets a few lines for people (the URLs, how to stop), or headless one JSON line; logs are
 * pino JSON, on stderr when it is piped, else in `<data>/logs/demo.log` with warnings and errors
 * readable on the terminal. SIGINT, SIGTERM and SIGHUP stop everything, the servers last; a second
 * one kills the children at once.
 * @example
 * process.exit(await runDemoMain(process.argv.slice(2), { root: process.cwd() }));
 */
export async function runDemoMain(argv: readonly string[], where: DemoMainOptions): Promise<number> {
  let options: DemoOptions;
  let app: DemoApp;
  try {
    options = parseDemoOptions(argv);
    app = await loadDemoApp(options.app, where.cwd);
  } catch (error) {
    if (error instanceof DemoUsage) {
      (error.exitCode === 0 ? process.stdout : process.stderr).write(error.message.endsWith('\n') ? error.message : `${error.message}\n`);
      return error.exitCode;
    }
    // A missing or broken app: one line naming the file and the problem, as the services say it.
    if (error instanceof RatchetError) {
      process.stderr.write(`${error.message.replace(/\s*\n\s*/g, ' ')}\n`);
      return 2;
    }
    throw error;
  }

  const dataDir = where.dataDir ?? (process.env.RATCHET_DATA_DIR || join(where.root, '.data'));
  const { log } = createDemoLogger({ level: options.logLevel, logDir: join(dataDir, 'logs'), tty: process.stderr.isTTY === true });
  const print = (line: string): void => void process.stdout.write(`${line}\n`);
  const say = options.headless ? () => undefined : print;

  const abort = new AbortController();
  const kill = new AbortController();
  let firstSignalAt: number | undefined;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (firstSignalAt !== undefined && Date.now() - firstSignalAt < SAME_CTRL_C_MS) return;
    signals++;
    if (signals === 1) {
      firstSignalAt = Date.now();
      log.info({ signal }, 'stopping: riders, dashboard, projector, workers (drain), then the servers; again to kill the children at once');
      say(stopLine(options, app));
      abort.abort();
    } else if (signals === 2) {
      log.warn({ signal }, 'killing the service processes at once');
      kill.abort();
    } else {
      process.exit(130);
    }
  };
  const ignore = (): undefined => undefined;
  // Closing the terminal window hangs the session up: stop as for Ctrl-C. The servers run in process
  // groups of their own and would be left running otherwise (they take SIGHUP as "reload" anyway).
  // With the terminal gone, writes to it fail; the JSON log file still gets everything.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  process.stdout.on('error', ignore);
  process.stderr.on('error', ignore);
  try {
    const code = await runDemo({ options, app, root: where.root, dataDir, log, signal: abort.signal, kill: kill.signal, print });
    log.info({ code }, 'demo stopped');
    log.flush();
    const name = app.riders ? 'Demo' : 'Ratchet dev';
    say(code === 0 ? `${name} stopped.` : `${name} stopped (exit code ${code}).`);
    return code;
  } catch (error) {
    if (error instanceof NoInfrastructureError || error instanceof DemoUsage) {
      process.stderr.write(`${error.message}\n`);
      return error instanceof DemoUsage ? error.exitCode : 3;
    }
    log.fatal({ err: error }, 'demo failed');
    log.flush();
    return 1;
  } finally {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(signal, onSignal);
  }
}
