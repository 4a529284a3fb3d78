import { parseArgs } from 'node:util';
import { z } from 'zod';

const count = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** The demo's command line, validated. */
export const DemoOptionsSchema = z.object({
  /** No dashboard; print one JSON summary line on stdout at the end. */
  headless: z.boolean().default(false),
  /** Seconds to run the riders; default 20 headless, unbounded with the dashboard. */
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
  /** Start from empty server data under .data/ (when the demo starts its own servers). */
  fresh: z.boolean().default(false),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** The demo's validated options. */
export type DemoOptions = z.output<typeof DemoOptionsSchema>;

/** The demo's flags, in the order `--help` lists them: name, value placeholder, meaning with the default. */
const FLAGS: ReadonlyArray<readonly [name: string, value: string, meaning: string]> = [
  ['headless', '', 'no dashboard; print one JSON summary line at the end'],
  ['duration', '<s>', 'how long the riders ride (default 20 headless, else until Ctrl-C)'],
  ['turnstiles', 'N', 'turnstiles in the station (default 1000)'],
  ['riders', 'N', 'riders at once, so commands in flight at most (default 64)'],
  ['rate', 'N', 'commands per second over all riders; 0 = as fast as they can (default 200)'],
  ['skew', 'F', 'fraction of riders heading for the 5 hot turnstiles (default 0.2)'],
  ['workers', 'N', 'worker processes (default 3)'],
  ['port', 'N', 'dashboard port; 0 = any free port (default 8090)'],
  ['fresh', '', 'wipe the data of the servers the demo starts (.data/nats, .data/postgres) first'],
  ['log-level', 'L', 'fatal, error, warn, info, debug, trace or silent (default info)'],
];

const HINT = 'Run `npm run demo -- --help` for the flags.';

/** The text `npm run demo -- --help` prints. */
export function demoHelp(): string {
  const flags = FLAGS.map(([name, value, meaning]) => `  ${`--${name}${value === '' ? '' : ` ${value}`}`.padEnd(18)} ${meaning}`);
  return [
    'usage: npm run demo -- [flags]        (or: npx ratchet demo [flags])',
    '',
    'The turnstile demo: NATS and Postgres (from NATS_URL and DATABASE_URL, else started from their',
    'binaries with data under .data/, else embedded in one process), 3 worker processes, a projector,',
    'riders and a live dashboard. Ctrl-C stops everything; a second Ctrl-C kills the children at once.',
    '',
    'flags:',
    ...flags,
    `  ${'-h, --help'.padEnd(18)} this text`,
    '',
    'environment:',
    '  NATS_URL, DATABASE_URL     run on these servers instead of starting them',
    '  RATCHET_DEMO_INFRA         embedded: force embedded mode; servers: never fall back to it',
    '  RATCHET_DATA_DIR           where servers, logs and demo.json go (default <repo>/.data)',
    '',
    'While it runs, `npx ratchet …` (send, history, status) finds it through .data/demo.json.',
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

/**
 * Parse and validate the demo's argv. Throws {@link DemoUsage}: with the help text for `--help`,
 * else listing every problem.
 * @example
 * const options = parseDemoOptions(['--headless', '--duration', '10']);
 */
export function parseDemoOptions(argv: readonly string[]): DemoOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        ...Object.fromEntries(FLAGS.map(([name, value]) => [name, { type: value === '' ? ('boolean' as const) : ('string' as const) }])),
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new DemoUsage(`${argumentProblem(error)}\n${HINT}`, 2, { cause: error });
  }
  if (values['help'] === true) throw new DemoUsage(demoHelp(), 0);
  const { 'log-level': logLevel, help: _help, ...rest } = values;
  const result = DemoOptionsSchema.safeParse({ ...rest, logLevel });
  if (!result.success) {
    const problems = result.error.issues.map((i) => `--${String(i.path[0]).replace('logLevel', 'log-level')}: ${i.message}`).join('\n');
    throw new DemoUsage(`${problems}\n${HINT}`, 2);
  }
  return result.data;
}

/** node:util parseArgs' message, shortened where it is long or garbled (its unknown-option hint misses a quote). */
function argumentProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (unknown) return `unknown flag ${unknown[1]}`;
  const positional = /^Unexpected argument '([^']*)'/.exec(message);
  if (positional) return `unexpected argument "${positional[1]}": the demo takes flags only`;
  return message;
}
