// `npm run demo`: the turnstile demo. Logs (pino JSON) go to stderr; stdout gets the dashboard URL,
// or, with --headless, one JSON summary line at the end.
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { parseDemoOptions, type DemoOptions } from './demo-options.js';
import { NoInfrastructureError } from './no-infrastructure-error.js';
import { runDemo } from './run-demo.js';

let options: DemoOptions;
try {
  options = parseDemoOptions(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}

const log = pino({ level: options.logLevel, base: { service: 'demo' } }, pino.destination(2));
const root = fileURLToPath(new URL('../../../', import.meta.url));
const abort = new AbortController();
let signals = 0;
const onSignal = (signal: NodeJS.Signals): void => {
  signals++;
  if (signals === 1) {
    log.info({ signal }, 'stopping: riders, dashboard, projector, workers (drain), then the servers; again to kill the children at once');
    abort.abort();
  } else if (signals >= 3) {
    process.exit(130);
  }
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

try {
  const code = await runDemo({ options, root, log, signal: abort.signal, print: (line) => process.stdout.write(`${line}\n`) });
  log.info({ code }, 'demo stopped');
  log.flush();
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
