import { join } from 'node:path';
import { pino, type Level, type Logger } from 'pino';

/** Options of {@link createDemoLogger}. */
export interface DemoLoggerOptions {
  readonly level: Level | 'silent';
  /** Where `demo.log` goes when stderr is a terminal. */
  readonly logDir: string;
  /** Whether stderr is a terminal. */
  readonly tty: boolean;
  /** Where readable lines go on a terminal. Default stderr. */
  readonly terminal?: { write(text: string): unknown };
}

/** The demo's logger and, on a terminal, the file its JSON goes to. */
export interface DemoLogger {
  readonly log: Logger;
  /** `<logDir>/demo.log` on a terminal; undefined when the JSON goes to stderr. */
  readonly file: string | undefined;
}

/**
 * The demo's logger. Piped (a test, a CI job, `2> file`): pino JSON on stderr, as every service
 * writes. On a terminal: the JSON goes to `<logDir>/demo.log` beside the services' logs, and only
 * warnings and errors reach the terminal, one readable line each, between the demo's own lines.
 * @example
 * const { log } = createDemoLogger({ level: 'info', logDir, tty: process.stderr.isTTY === true });
 */
export function createDemoLogger(options: DemoLoggerOptions): DemoLogger {
  const base = { base: { service: 'demo' }, level: options.level };
  if (!options.tty) return { log: pino(base, pino.destination(2)), file: undefined };
  const file = join(options.logDir, 'demo.log');
  const terminal = options.terminal ?? process.stderr;
  const readable = { write: (line: string) => void terminal.write(`${readableLine(line)}\n`) };
  const streams = pino.multistream([
    { level: options.level === 'silent' ? 'fatal' : options.level, stream: pino.destination({ dest: file, mkdir: true, sync: true }) },
    { level: 'warn', stream: readable },
  ]);
  return { log: pino(base, streams), file };
}

const LEVELS: Readonly<Record<number, string>> = { 40: 'warning', 50: 'error', 60: 'fatal' };
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'service', 'msg', 'err', 'component']);

/**
 * One pino JSON line as a person reads it: `warning: <message> (<key>=<value> …): <error message>`,
 * without stack, time or pid (the JSON in demo.log keeps them).
 */
export function readableLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.trimEnd();
  }
  const level = LEVELS[entry.level as number] ?? 'info';
  const component = typeof entry.component === 'string' ? `${entry.component}: ` : '';
  const fields = Object.entries(entry)
    .filter(([key, value]) => !HIDDEN.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  const err = entry.err as { message?: unknown } | undefined;
  const cause = typeof err?.message === 'string' && err.message !== '' ? `: ${err.message.split('\n')[0]}` : '';
  const text = `${level}: ${component}${String(entry.msg ?? '')}${fields.length > 0 ? ` (${fields.join(', ')})` : ''}${cause}`;
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
