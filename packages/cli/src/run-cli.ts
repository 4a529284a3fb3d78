import { parseArgs, type ParseArgsConfig } from 'node:util';
import { RatchetError } from '@ratchet/core';
import { z } from 'zod';
import { CliError, usageError } from './cli-error.js';
import type { CliContext, CliIo } from './cli-context.js';
import type { CommandFlags, CommandSpec } from './command-spec.js';
import { ExitCode } from './exit-code.js';

/** Every command, in the order help lists them; implementations load on use. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    words: ['send'],
    args: '<aggregate> <id> <command> [payload-json]',
    summary: 'send a command and print the reply (ok, rejected or error)',
    options: { 'command-id': { type: 'string' }, 'expected-version': { type: 'string' } },
    load: async () => (await import('./commands/send.js')).runSend,
  },
  {
    words: ['history'],
    args: '<aggregate> <id>',
    summary: "print a stream's events: version, type, data, recorded at",
    load: async () => (await import('./commands/history.js')).runHistory,
  },
  {
    words: ['status'],
    args: '',
    summary: 'workers, partitions (owner, epoch), outbox lag, projection lag, parked events',
    load: async () => (await import('./commands/status.js')).runStatus,
  },
  {
    words: ['projections', 'list'],
    args: '',
    summary: 'projection versions: building/following, active, applied, lag, parked',
    load: async () => (await import('./commands/projections.js')).runProjectionsList,
  },
  {
    words: ['projections', 'rebuild'],
    args: '<name> --version N',
    summary: 'build a projection version from the event store with progress (--switch, --watch)',
    options: { version: { type: 'string' }, switch: { type: 'boolean' }, watch: { type: 'boolean' } },
    load: async () => (await import('./commands/projections.js')).runProjectionsRebuild,
  },
  {
    words: ['projections', 'parked'],
    args: '[name]',
    summary: 'parked events: projection, stream, version, type, attempts, error',
    load: async () => (await import('./commands/projections.js')).runProjectionsParked,
  },
  {
    words: ['projections', 'retry'],
    args: '<name> [stream]',
    summary: 'retry parked events of a projection (all its streams, or one)',
    load: async () => (await import('./commands/projections.js')).runProjectionsRetry,
  },
  {
    words: ['demo'],
    args: '[demo arguments…]',
    summary: 'run the turnstile demo (services/demo), arguments passed through',
    passThrough: true,
    load: async () => (await import('./commands/demo.js')).runDemo,
  },
];

type Options = NonNullable<ParseArgsConfig['options']>;

const GLOBAL_OPTIONS: Options = {
  nats: { type: 'string' },
  db: { type: 'string' },
  json: { type: 'boolean' },
  partitions: { type: 'string' },
  'timeout-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const GlobalOptionsSchema = z.object({
  nats: z.string().min(1, '--nats must not be empty'),
  db: z.string().optional(),
  json: z.boolean(),
  partitions: z.coerce.number().int().min(1).max(4096),
  timeoutMs: z.coerce.number().int().min(1).max(3_600_000),
});

/** What {@link runCli} runs with; the process's by default. */
export interface RunCliOptions extends Partial<CliIo> {
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Run `ratchet` with these arguments; resolves with the exit code (never throws). Errors are one
 * line on stderr; `RATCHET_DEBUG=1` adds the stack.
 * @example
 * process.exitCode = await runCli(['send', 'turnstile', 't-1', 'install']);
 */
export async function runCli(argv: readonly string[], options: RunCliOptions = {}): Promise<number> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const env = options.env ?? process.env;
  const err = (line: string) => void stderr.write(`${line}\n`);
  try {
    const { command, positionals, flags, globals } = parseCommandLine(argv);
    if (globals['help'] === true || command === undefined) {
      stdout.write(helpText());
      return command === undefined && globals['help'] !== true ? ExitCode.USAGE : ExitCode.OK;
    }
    const parsed = GlobalOptionsSchema.safeParse({
      nats: globals['nats'] ?? env['NATS_URL'] ?? 'nats://127.0.0.1:4222',
      db: globals['db'] ?? env['DATABASE_URL'],
      json: globals['json'] === true,
      partitions: globals['partitions'] ?? env['RATCHET_PARTITIONS'] ?? 64,
      timeoutMs: globals['timeout-ms'] ?? 5_000,
    });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw usageError(`--${String(issue?.path[0] ?? '?').replace('timeoutMs', 'timeout-ms')}: ${issue?.message ?? 'invalid'}`);
    }
    const ctx: CliContext = {
      stdout,
      stderr,
      env,
      options: { ...parsed.data, db: parsed.data.db },
      out: (line) => void stdout.write(`${line}\n`),
      err,
    };
    const run = await command.load();
    return await run(ctx, positionals, flags);
  } catch (error) {
    if (env['RATCHET_DEBUG'] === '1' && error instanceof Error) err(error.stack ?? error.message);
    if (error instanceof CliError) {
      err(`ratchet: ${oneLine(error.message)}`);
      return error.exitCode;
    }
    const message = error instanceof RatchetError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
    err(`ratchet: ${oneLine(message)}`);
    return ExitCode.FAILED;
  }
}

interface CommandLine {
  readonly command: CommandSpec | undefined;
  readonly positionals: readonly string[];
  readonly flags: CommandFlags;
  readonly globals: CommandFlags;
}

/** Pick the command by its words, then parse its flags and the global ones strictly. */
function parseCommandLine(argv: readonly string[]): CommandLine {
  const every: Options = { ...GLOBAL_OPTIONS };
  for (const c of COMMANDS) Object.assign(every, c.options);
  const scan = parseArgs({ args: [...argv], options: every, strict: false, allowPositionals: true, tokens: true });
  const words = (scan.tokens ?? []).filter((t) => t.kind === 'positional');
  const first = words[0]?.value;
  if (first === undefined || first === 'help') {
    return { command: undefined, positionals: [], flags: {}, globals: { help: first === 'help' || scan.values['help'] === true } };
  }
  const command =
    COMMANDS.find((c) => c.words.length === 1 && c.words[0] === first) ??
    COMMANDS.find((c) => c.words.length === 2 && c.words[0] === first && c.words[1] === words[1]?.value);
  if (command === undefined) {
    const group = COMMANDS.filter((c) => c.words[0] === first);
    if (group.length > 0) {
      throw usageError(`usage: ratchet ${first} ${group.map((c) => c.words[1]).join('|')} …`);
    }
    throw usageError(`unknown command "${first}" (commands: send, history, status, projections, demo; see ratchet --help)`);
  }
  const end = words[command.words.length - 1]!.index;
  if (command.passThrough === true) {
    const globals = parseStrict(argv.slice(0, end), GLOBAL_OPTIONS, false);
    return { command, positionals: argv.slice(end + 1), flags: {}, globals: globals.values };
  }
  const wordIndexes = new Set(words.slice(0, command.words.length).map((t) => t.index));
  const rest = argv.filter((_, i) => !wordIndexes.has(i));
  const all = parseStrict(rest, { ...GLOBAL_OPTIONS, ...command.options }, true);
  const globals: Record<string, string | boolean | undefined> = {};
  const flags: Record<string, string | boolean | undefined> = {};
  for (const [k, v] of Object.entries(all.values)) (Object.hasOwn(GLOBAL_OPTIONS, k) ? globals : flags)[k] = v;
  return { command, positionals: all.positionals, flags, globals };
}

function parseStrict(args: readonly string[], options: Options, allowPositionals: boolean) {
  try {
    const r = parseArgs({ args: [...args], options, strict: true, allowPositionals });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (error) {
    throw usageError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

/** The `ratchet --help` text. */
export function helpText(): string {
  const lines = COMMANDS.map((c) => {
    const usage = `ratchet ${c.words.join(' ')}${c.args === '' ? '' : ` ${c.args}`}`;
    return `  ${usage.padEnd(58)} ${c.summary}`;
  });
  return `usage: ratchet [global flags] <command> [args]

commands:
${lines.join('\n')}

send flags: --command-id X (reuse to retry), --expected-version N
global flags:
  --nats <url>       NATS server(s), comma-separated (default $NATS_URL or nats://127.0.0.1:4222)
  --db <url>         Postgres URL of the event store (default $DATABASE_URL)
  --json             machine-readable output on stdout
  --partitions N     partitions per aggregate type, as the workers have it (default $RATCHET_PARTITIONS or 64)
  --timeout-ms N     overall budget of a send, retries included (default 5000)

exit codes: 0 ok, 1 rejected or error reply, 2 usage or configuration error, 3 server unreachable
`;
}
