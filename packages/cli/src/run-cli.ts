import { parseArgs, type ParseArgsConfig } from 'node:util';
import { RatchetError, requireItem } from '@ratchet/core';
import { z } from 'zod';
import { CliError, usageError } from './cli-error.js';
import type { AppSource, CliContext, CliIo } from './cli-context.js';
import type { CommandFlags, CommandSpec } from './command-spec.js';
import { COMMANDS } from './command-table.js';
import { ExitCode } from './exit-code.js';
import { findRunningDemo } from './running-demo.js';

type Options = NonNullable<ParseArgsConfig['options']>;

const GLOBAL_OPTIONS: Options = {
  nats: { type: 'string' },
  db: { type: 'string' },
  app: { type: 'string' },
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
    if (command === undefined) {
      stdout.write(helpText());
      return globals.help === true ? ExitCode.OK : ExitCode.USAGE;
    }
    if (globals.help === true) {
      stdout.write(commandHelp(command));
      return ExitCode.OK;
    }
    const servers = resolveServers(globals, env);
    const parsed = GlobalOptionsSchema.safeParse({
      nats: servers.nats,
      db: servers.db,
      json: globals.json === true,
      partitions: globals.partitions ?? env.RATCHET_PARTITIONS ?? servers.partitions ?? 64,
      timeoutMs: globals['timeout-ms'] ?? 5_000,
    });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw usageError(`--${String(issue?.path[0] ?? '?').replace('timeoutMs', 'timeout-ms')}: ${issue?.message ?? 'invalid'}`);
    }
    const app = appSource(globals, env, servers);
    const ctx: CliContext = {
      stdout,
      stderr,
      env,
      options: {
        ...parsed.data,
        db: parsed.data.db,
        origins: servers.origins,
        ...(servers.hint === undefined ? {} : { hint: servers.hint }),
        ...(app === undefined ? {} : { app }),
      },
      out: (line) => void stdout.write(`${line}\n`),
      err,
    };
    const run = await command.load();
    return await run(ctx, positionals, flags);
  } catch (error) {
    if (env.RATCHET_DEBUG === '1' && error instanceof Error) err(error.stack ?? error.message);
    if (error instanceof CliError) {
      err(`ratchet: ${oneLine(error.message)}`);
      return error.exitCode;
    }
    const message =
      error instanceof RatchetError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
    err(`ratchet: ${oneLine(message)}`);
    return ExitCode.FAILED;
  }
}

interface Servers {
  readonly nats: string;
  readonly db: string | undefined;
  readonly partitions: number | undefined;
  readonly origins: { readonly nats: string; readonly db?: string };
  readonly hint: string | undefined;
  /** The app the running `ratchet dev` serves, when it serves it on the NATS the CLI talks to. */
  readonly runningApp: AppSource | undefined;
}

/** The app commands are checked against: `--app`, else `$RATCHET_APP`, else the running dev's. */
function appSource(globals: CommandFlags, env: Readonly<Record<string, string | undefined>>, servers: Servers): AppSource | undefined {
  const flag = globals.app;
  if (typeof flag === 'string') {
    if (flag === '') throw usageError('--app must not be empty');
    return { path: flag, origin: '--app' };
  }
  const fromEnv = str(env.RATCHET_APP);
  if (fromEnv !== undefined) return { path: fromEnv, origin: '$RATCHET_APP' };
  return servers.runningApp;
}

/**
 * Where NATS and Postgres are: `--nats`/`--db`, else `$NATS_URL`/`$DATABASE_URL`, else those of the
 * `ratchet dev` (or demo) running in this project (its `.data/demo.json`: it picks free ports),
 * else NATS on the default port and no database.
 */
function resolveServers(globals: CommandFlags, env: Readonly<Record<string, string | undefined>>): Servers {
  // A flag counts even when empty (and then fails validation); an empty env var counts as unset.
  const flagNats = typeof globals.nats === 'string' ? globals.nats : undefined;
  const flagDb = typeof globals.db === 'string' ? globals.db : undefined;
  const envNats = str(env.NATS_URL);
  const envDb = str(env.DATABASE_URL);
  // Read even when the servers are named: its app counts when it runs on the same NATS.
  const demo = findRunningDemo(env);
  const fromDemo = (file: string): string => `from the running demo, ${file}`;
  const nats: [string, string] =
    flagNats !== undefined
      ? [flagNats, '--nats']
      : envNats !== undefined
        ? [envNats, '$NATS_URL']
        : demo?.natsUrl !== undefined
          ? [demo.natsUrl, fromDemo(demo.file)]
          : ['nats://127.0.0.1:4222', 'the default'];
  const db: [string, string] | undefined =
    flagDb !== undefined
      ? [flagDb, '--db']
      : envDb !== undefined
        ? [envDb, '$DATABASE_URL']
        : demo?.databaseUrl !== undefined
          ? [demo.databaseUrl, fromDemo(demo.file)]
          : undefined;
  const embedded = demo !== undefined && !demo.distributed;
  const sameNats = demo?.natsUrl !== undefined && demo.natsUrl === nats[0];
  return {
    nats: nats[0],
    db: db?.[0],
    partitions: demo?.partitions,
    origins: { nats: nats[1], ...(db === undefined ? {} : { db: db[1] }) },
    hint: embedded ? `the running demo (pid ${demo.pid}) is embedded: one process with no NATS or Postgres the CLI can reach` : undefined,
    runningApp: sameNats && demo.app !== undefined ? { path: demo.app, origin: `the running app, ${demo.file}` } : undefined,
  };
}

function str(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
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
  if (first === 'help') {
    // `ratchet help send` is `ratchet send --help`.
    const [, a, b] = words.map((t) => t.value);
    const named = COMMANDS.find((c) => c.words[0] === a && (c.words.length === 1 || c.words[1] === b));
    return { command: named, positionals: [], flags: {}, globals: { help: true } };
  }
  if (first === undefined) {
    return { command: undefined, positionals: [], flags: {}, globals: { help: scan.values.help === true } };
  }
  const command =
    COMMANDS.find((c) => c.words.length === 1 && c.words[0] === first) ??
    COMMANDS.find((c) => c.words.length === 2 && c.words[0] === first && c.words[1] === words[1]?.value);
  if (command === undefined) {
    const group = COMMANDS.filter((c) => c.words[0] === first);
    if (group.length > 0) {
      throw usageError(`usage: ratchet ${first} ${group.map((c) => c.words[1]).join('|')} …`);
    }
    throw usageError(
      `unknown command "${first}" (commands: ${[...new Set(COMMANDS.map((c) => c.words[0]))].join(', ')}; see ratchet --help)`,
    );
  }
  // The command was found among these words, so it has that many.
  const end = requireItem(words, command.words.length - 1, 'word of the command').index;
  if (command.passThrough === true) {
    const globals = parseStrict(argv.slice(0, end), GLOBAL_OPTIONS, false, command);
    return { command, positionals: argv.slice(end + 1), flags: {}, globals: globals.values };
  }
  const wordIndexes = new Set(words.slice(0, command.words.length).map((t) => t.index));
  const rest = argv.filter((_, i) => !wordIndexes.has(i));
  const all = parseStrict(rest, { ...GLOBAL_OPTIONS, ...command.options }, true, command);
  const globals: Record<string, string | boolean | undefined> = {};
  const flags: Record<string, string | boolean | undefined> = {};
  for (const [k, v] of Object.entries(all.values)) (Object.hasOwn(GLOBAL_OPTIONS, k) ? globals : flags)[k] = v;
  return { command, positionals: all.positionals, flags, globals };
}

function parseStrict(args: readonly string[], options: Options, allowPositionals: boolean, command: CommandSpec) {
  try {
    const r = parseArgs({ args: [...args], options, strict: true, allowPositionals });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (error) {
    const name = `ratchet ${command.words.join(' ')}`;
    // node:util's unknown-option message ends in a garbled hint ('-- "--bogus"); say it our way.
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /^Unknown option '([^']+)'/.exec(message);
    throw usageError(unknown ? `unknown flag ${unknown[1]} for ${name} (${name} --help lists its flags)` : `${message} (${name} --help)`, {
      cause: error,
    });
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

/** The `ratchet <command> --help` text: usage, what it does, its flags, the global flags. */
export function commandHelp(command: CommandSpec): string {
  const usage = `ratchet ${command.words.join(' ')}${command.args === '' ? '' : ` ${command.args}`}`;
  return `usage: ${usage}

${command.summary.charAt(0).toUpperCase()}${command.summary.slice(1)}.
${command.help === undefined ? '' : `\n${command.help.join('\n')}\n`}
${GLOBAL_FLAGS_HELP}`;
}

const GLOBAL_FLAGS_HELP = `global flags (before or after the command):
  --nats <url>       NATS server(s), comma-separated (default $NATS_URL, else the running demo's, else nats://127.0.0.1:4222)
  --db <url>         Postgres URL of the event store (default $DATABASE_URL, else the running demo's)
  --app <path>       the app module (or project directory) commands are checked against (default $RATCHET_APP,
                     else the app the running ratchet dev serves on that NATS; none: commands go unchecked)
  --json             machine-readable output on stdout
  --partitions N     partitions per aggregate type, as the workers have it (default $RATCHET_PARTITIONS, the demo's, or 64)
  --timeout-ms N     overall budget of a send, retries included (default 5000)
  -h, --help         help (ratchet <command> --help for one command)
`;

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
${GLOBAL_FLAGS_HELP}
While \`ratchet dev\` (or \`npm run demo\`) runs, no flags are needed: the CLI reads its servers and its app
from .data/demo.json.

exit codes: 0 ok, 1 rejected or error reply, 2 usage or configuration error, 3 server unreachable
`;
}
