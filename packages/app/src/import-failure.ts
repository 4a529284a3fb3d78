import { execFile } from 'node:child_process';
import { ErrorCode, type ValidationIssue } from '@ratchet/core';
import { AppLoadError } from './app-load-error.js';
import { isTypeScriptFile } from './typescript-loader.js';

interface ErrorLike {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly code?: unknown;
  readonly stack?: unknown;
  readonly issues?: unknown;
}

function field(error: unknown, key: keyof ErrorLike): unknown {
  return typeof error === 'object' && error !== null ? (error as ErrorLike)[key] : undefined;
}

function messageOf(error: unknown): string {
  const message = field(error, 'message');
  return typeof message === 'string' ? message : String(error);
}

/** Stack frames (`at …` lines) of an error, innermost first. */
function framesOf(error: unknown): string[] {
  const stack = field(error, 'stack');
  if (typeof stack !== 'string') return [];
  return stack
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('at '));
}

// Ratchet's own definers: a definition error is raised inside them, but the line to show is the
// user's call of them.
const DEFINERS = /^at (defineApp|defineAggregate|defineProjection|projectionTables) /;

/** The innermost frame in user code (not Node's internals, a dependency or a definer), as `file:line:col`. */
function userFrame(error: unknown): string | undefined {
  for (const frame of framesOf(error)) {
    if (DEFINERS.test(frame)) continue;
    const location = /(?:\(|^at )((?:file:\/\/|\/)[^()\s]+:\d+:\d+)\)?$/.exec(frame)?.[1];
    if (location !== undefined && !location.includes('/node_modules/')) return location;
  }
  return undefined;
}

/**
 * Ask Node's own parser where a JavaScript file fails to parse (`node --check`, the same parser the
 * import used: a SyntaxError from import() carries no location). Resolves with `<file>:<line>:<col>`
 * and the source line, or undefined when the file parses (the error was elsewhere in its graph).
 */
function locateSyntaxError(file: string): Promise<{ at: string; source: string } | undefined> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--check', file], { timeout: 15_000 }, (error, _stdout, stderr) => {
      if (error === null) return resolve(undefined);
      // "<file>:<line>\n<source line>\n<spaces>^\n\nSyntaxError: …"
      const lines = stderr.split('\n');
      const line = /:(\d+)$/.exec(lines[0] ?? '')?.[1];
      const caret = (lines[2] ?? '').indexOf('^');
      if (line === undefined || caret < 0) return resolve(undefined);
      resolve({ at: `${file}:${line}:${caret + 1}`, source: (lines[1] ?? '').trim() });
    });
  });
}

/** A definition error (from defineApp, defineAggregate or defineProjection), recognised across copies of @ratchet/core by its code. */
function isDefinitionError(error: unknown): boolean {
  return field(error, 'code') === ErrorCode.DEFINITION_ERROR;
}

/**
 * Turn what `import()` of an app module threw into an {@link AppLoadError} that says, in one
 * line, which file and what is wrong.
 */
export async function importFailure(file: string, error: unknown): Promise<AppLoadError> {
  const message = messageOf(error);
  if (isDefinitionError(error)) {
    const issues = Array.isArray(field(error, 'issues')) ? (field(error, 'issues') as ValidationIssue[]) : undefined;
    const at = userFrame(error);
    return new AppLoadError(file, 'invalid-app', `${message}${at === undefined ? '' : ` (at ${at})`}`, { cause: error, issues, at });
  }
  // tsx compiles TypeScript with esbuild, whose error already says "<file>:<line>:<col>: ERROR: …".
  if (field(error, 'name') === 'TransformError') {
    const detail = message
      .replace(/^Transform failed with \d+ errors?:\s*/, '')
      .replace(/: ERROR: /g, ': ')
      .replace(/\s*\n\s*/g, '; ');
    return new AppLoadError(file, 'syntax-error', `syntax error at ${detail}`, { cause: error });
  }
  // A parse or link error from Node's loader: a SyntaxError raised before any user code ran.
  if (field(error, 'name') === 'SyntaxError' && userFrame(error) === undefined) {
    const where = isTypeScriptFile(file) ? undefined : await locateSyntaxError(file);
    if (where !== undefined) {
      return new AppLoadError(file, 'syntax-error', `syntax error at ${where.at}: ${message} (in \`${where.source}\`)`, {
        cause: error,
        at: where.at,
      });
    }
    // The file itself parses: a module it imports does not parse, or lacks an export it names.
    return new AppLoadError(file, 'import-failed', `importing it failed: ${message}`, { cause: error });
  }
  const code = field(error, 'code');
  if (code === 'ERR_UNKNOWN_FILE_EXTENSION') {
    return new AppLoadError(file, 'import-failed', `${message}: start Node with --import tsx, or point at the built .js`, { cause: error });
  }
  if (typeof code === 'string' && code.startsWith('ERR_')) {
    return new AppLoadError(file, 'import-failed', `importing it failed: ${message}`, { cause: error });
  }
  const at = userFrame(error);
  const name = field(error, 'name');
  const what = typeof name === 'string' && name !== 'Error' ? `${name}: ${message}` : message;
  return new AppLoadError(file, 'import-failed', `it threw on import: ${what}${at === undefined ? '' : ` (at ${at})`}`, {
    cause: error,
    at,
  });
}
