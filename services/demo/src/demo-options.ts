import { parseArgs } from 'node:util';
import { z } from 'zod';

const count = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** The command line of `ratchet dev` (and `npm run demo`), validated. */
export const DemoOptionsSchema = z.object({
  /** The app module or project directory to run; none: the turnstile demo with its riders. */
  app: z.string().min(1).optional(),
  /** No dashboard, gateway or web server; print one JSON summary line on stdout at the end (turnstile demo). */
  headless: z.boolean().default(false),
  /** Seconds to run; default 20 headless, else until Ctrl-C. */
  duration: z.coerce.number().positive().max(86_400).optional(),
  turnstiles: count(1, 1_000_000).default(1_000),
  riders: count(1, 10_000).default(64),
  /** Commands per second over all riders; 0 = as fast as possible. */
  rate: z.coerce.number().min(0).max(1_000_000).default(200),
  /** Fraction of riders heading for the few hot turnstiles. */
  skew: z.coerce.number().min(0).max(1).default(0.2),
  workers: count(1, 32).default(3),
  /** Dashboard HTTP port; 0 = any free port. */
  port: count(0, 65_535).default(8090),
  /** HTTP gateway port; 0 = any free port. */
  gatewayPort: count(0, 65_535).default(8082),
  /** Port of the app's own web server (HTTP_PORT); 0 = any free port. */
  webPort: count(0, 65_535).default(8088),
  /** Start from empty server data under .data/ (when the demo starts its own servers). */
  fresh: z.boolean().default(false),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** The validated options of a `ratchet dev` or demo run. */
export type DemoOptions = z.output<typeof DemoOptionsSchema>;

/** The flags, in the order `--help` lists them: name, value placeholder, meaning with the default. */
const FLAGS: ReadonlyArray<readonly [name: string, value: string, meaning: string]> = [
  ['workers', 'N', 'worker processes (default 3)'],
  ['port', 'N', 'dashboard port; 0 = any free port (default $RATCHET_DASHBOARD_PORT, else 8090)'],
  ['gateway-port', 'N', 'HTTP gateway port; 0 = any free port (default $RATCHET_GATEWAY_PORT, else 8082)'],
  ['web-port', 'N', "the app's web server port, its HTTP_PORT; 0 = any free port (default $RATCHET_WEB_PORT, else 8088)"],
  ['duration', '<s>', 'stop after this many seconds (default 20 headless, else until Ctrl-C)'],
  ['fresh', '', 'wipe the data of the servers it starts (.data/nats, .data/postgres) first'],
  ['log-level', 'L', 'fatal, error, warn, info, debug, trace or silent (default info)'],
];

/** Flags of the turnstile demo's riders: refused with an app, which has no riders. */
const RIDER_FLAGS: ReadonlyArray<readonly [name: string, value: string, meaning: string]> = [
  ['headless', '', 'no dashboard, gateway or web; print one JSON summary line at the end'],
  ['turnstiles', 'N', 'turnstiles in the station (default 1000)'],
  ['riders', 'N', 'riders at once, so commands in flight at most (default 64)'],
  ['rate', 'N', 'commands per second over all riders; 0 = as fast as they can (default 200)'],
  ['skew', 'F', 'fraction of riders heading for the 5 hot turnstiles (default 0.2)'],
];

/** Where a port flag takes its default from when it is not given. */
const PORT_ENV: ReadonlyArray<readonly [option: string, variable: string]> = [
  ['port', 'RATCHET_DASHBOARD_PORT'],
  ['gatewayPort', 'RATCHET_GATEWAY_PORT'],
  ['webPort', 'RATCHET_WEB_PORT'],
];

const HINT = 'Run `ratchet dev --help` (or `npm run demo -- --help`) for the flags.';

const flagLines = (flags: typeof FLAGS) =>
  flags.map(([name, value, meaning]) => `  ${`--${name}${value === '' ? '' : ` ${value}`}`.padEnd(18)} ${meaning}`);

/** The text `ratchet dev --help` and `npm run demo -- --help` print. */
export function demoHelp(): string {
  return [
    'usage: ratchet dev [app] [flags]      (npm run demo -- [flags]: the turnstile demo, in this repository)',
    '',
    'Runs an app for development in one command: NATS and Postgres (from NATS_URL and DATABASE_URL, else',
    'started from their binaries with data under .data/, else embedded in one process), worker processes,',
    "a projector, the HTTP gateway, the dashboard, and the app's own web server when its package.json names",
    'one ("ratchet": { "web": "web.ts" }). [app] is an app module (src/app.ts) or a project directory (its',
    'package.json\'s "ratchet": { "app" }, else src/app.ts). Without one: the turnstile demo, with riders.',
    'Ctrl-C stops everything, the servers last; a second Ctrl-C kills the children at once.',
    '',
    'flags:',
    ...flagLines(FLAGS),
    `  ${'-h, --help'.padEnd(18)} this text`,
    '',
    'the turnstile demo only (no app):',
    ...flagLines(RIDER_FLAGS),
    '',
    'environment:',
    '  NATS_URL, DATABASE_URL     run on these servers instead of starting them',
    '  RATCHET_DEMO_INFRA         embedded: force embedded mode; servers: never fall back to it',
    '  RATCHET_DATA_DIR           where servers, logs and demo.json go (default .data in the project)',
    '',
    'While it runs, `npx ratchet …` (send, history, status) finds it and its app through .data/demo.json.',
    '',
  ].join('\n');
}

/** A command line the demo cannot run with, or `--help`: print `message` (stdout when `exitCode` is 0) and exit. */
export class DemoUsage extends Error {
  override readonly name = 'DemoUsage';
  /** 0 for `--help`, 2 for a bad command line. */
  readonly exitCode: 0 | 2;

  constructor(message: string, exitCode: 0 | 2, options?: ErrorOptions) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

const camel = (flag: string): string => flag.replace(/-(.)/g, (_, c: string) => c.toUpperCase());
const kebab = (option: string): string => option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * Parse and validate the argv of `ratchet dev` (`[app] [flags]`); port defaults come from `env`.
 * Throws {@link DemoUsage}: with the help text for `--help`, else listing every problem.
 * @example
 * const options = parseDemoOptions(['examples/bookstore', '--gateway-port', '0']);
 */
export function parseDemoOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): DemoOptions {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: {
        ...Object.fromEntries(
          [...FLAGS, ...RIDER_FLAGS].map(([name, value]) => [name, { type: value === '' ? ('boolean' as const) : ('string' as const) }]),
        ),
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new DemoUsage(`${argumentProblem(error)}\n${HINT}`, 2, { cause: error });
  }
  if (values.help === true) throw new DemoUsage(demoHelp(), 0);
  if (positionals.length > 1)
    throw new DemoUsage(`unexpected argument "${positionals[1]}": give one app (a module or a project directory)\n${HINT}`, 2);
  const app = positionals[0];
  if (app !== undefined) {
    const riderFlags = RIDER_FLAGS.map(([name]) => name).filter((name) => values[name] !== undefined);
    if (riderFlags.length > 0) {
      throw new DemoUsage(`--${riderFlags.join(', --')}: for the turnstile demo only (no app); an app runs without riders\n${HINT}`, 2);
    }
  }
  const { help: _help, ...rest } = values;
  const input: Record<string, unknown> = Object.fromEntries(Object.entries(rest).map(([k, v]) => [camel(k), v]));
  const fromEnv = new Map<string, string>();
  for (const [option, variable] of PORT_ENV) {
    const value = env[variable];
    if (input[option] === undefined && value !== undefined && value !== '') {
      input[option] = value;
      fromEnv.set(option, variable);
    }
  }
  const result = DemoOptionsSchema.safeParse({ ...input, ...(app === undefined ? {} : { app }) });
  if (!result.success) {
    const name = (option: string) => `--${kebab(option)}${fromEnv.has(option) ? ` (from $${fromEnv.get(option)})` : ''}`;
    const problems = result.error.issues.map((i) => `${name(String(i.path[0]))}: ${i.message}`).join('\n');
    throw new DemoUsage(`${problems}\n${HINT}`, 2);
  }
  return result.data;
}

/** node:util parseArgs' message, shortened where it is long or garbled (its unknown-option hint misses a quote). */
function argumentProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (unknown) return `unknown flag ${unknown[1]}`;
  return message;
}
