// `npm run demo`: the turnstile demo. stdout gets a few lines for people (the dashboard URL, the
// servers, how to stop), or, with --headless, one JSON summary line at the end. Logs are pino JSON:
// on stderr when it is piped; in .data/logs/demo.log on a terminal, which sees warnings and errors only.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDemoLogger } from './demo-logger.js';
import { DemoUsage, parseDemoOptions, type DemoOptions } from './demo-options.js';
import { NoInfrastructureError } from './no-infrastructure-error.js';
import { runDemo } from './run-demo.js';

let options: DemoOptions;
try {
  options = parseDemoOptions(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof DemoUsage)) throw error;
  (error.exitCode === 0 ? process.stdout : process.stderr).write(error.message.endsWith('\n') ? error.message : `${error.message}\n`);
  process.exit(error.exitCode);
}

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dataDir = process.env['RATCHET_DATA_DIR'] || join(root, '.data');
const { log } = createDemoLogger({ level: options.logLevel, logDir: join(dataDir, 'logs'), tty: process.stderr.isTTY === true });
const print = (line: string): void => void process.stdout.write(`${line}\n`);
const say = options.headless ? () => undefined : print;

// One Ctrl-C under `npm run demo` arrives twice: from the terminal and forwarded by npm. Signals
// within this window of the first count as that one, not as the second Ctrl-C that kills.
const SAME_CTRL_C_MS = 1_000;
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
    say('Stopping: the riders, the dashboard and the projector, then the workers (they drain), then the servers. Ctrl-C again to kill them at once.');
    abort.abort();
  } else if (signals === 2) {
    log.warn({ signal }, 'killing the service processes at once');
    kill.abort();
  } else {
    process.exit(130);
  }
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// Closing the terminal window hangs the session up: stop as for Ctrl-C. The servers run in process
// groups of their own and would be left running otherwise (they take SIGHUP as "reload" anyway).
// With the terminal gone, writes to it fail; the JSON log file still gets everything.
process.on('SIGHUP', onSignal);
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);

try {
  const code = await runDemo({ options, root, dataDir, log, signal: abort.signal, kill: kill.signal, print });
  log.info({ code }, 'demo stopped');
  log.flush();
  say(code === 0 ? 'Demo stopped.' : `Demo stopped (exit code ${code}).`);
  process.exit(code);
} catch (error) {
  if (error instanceof NoInfrastructureError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(3);
  }
  log.fatal({ err: error }, 'demo failed');
  log.flush();
  process.exit(1);
}
