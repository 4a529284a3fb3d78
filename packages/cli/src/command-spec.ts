import type { ParseArgsConfig } from 'node:util';
import type { CliContext } from './cli-context.js';

/** Parsed flags of one command (strings and booleans, as node:util parseArgs gives them). */
export type CommandFlags = Readonly<Record<string, string | boolean | undefined>>;

/** One `ratchet` command. */
export interface CommandSpec {
  /** The words that select it, e.g. `['projections', 'rebuild']`. */
  readonly words: readonly string[];
  /** Positional arguments as shown in help, e.g. `<aggregate> <id>`. */
  readonly args: string;
  readonly summary: string;
  /** More lines for `ratchet <command> --help`: arguments, flags, an example. */
  readonly help?: readonly string[];
  /** Flags of this command besides the global ones. */
  readonly options?: NonNullable<ParseArgsConfig['options']>;
  /** Pass everything after the command words through unparsed (the demo). */
  readonly passThrough?: boolean;
  /** Load its implementation (lazily, so `ratchet send` does not load the projector). */
  load(): Promise<CommandRun>;
}

/** A command's implementation: resolves with the exit code. */
export type CommandRun = (ctx: CliContext, positionals: readonly string[], flags: CommandFlags) => Promise<number>;
