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

const USAGE = `usage: npm run demo -- [--headless] [--duration <s>] [--turnstiles N] [--riders N] [--rate N] [--skew F] [--workers N] [--port N] [--fresh] [--log-level L]`;

/**
 * Parse and validate the demo's argv; throws an Error listing every problem and the usage line.
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
        headless: { type: 'boolean' },
        duration: { type: 'string' },
        turnstiles: { type: 'string' },
        riders: { type: 'string' },
        rate: { type: 'string' },
        skew: { type: 'string' },
        workers: { type: 'string' },
        port: { type: 'string' },
        fresh: { type: 'boolean' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${USAGE}`);
  }
  if (values['help'] === true) throw new Error(USAGE);
  const { 'log-level': logLevel, help: _help, ...rest } = values;
  const result = DemoOptionsSchema.safeParse({ ...rest, logLevel });
  if (!result.success) {
    const problems = result.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`${problems}\n${USAGE}`);
  }
  return result.data;
}
