import { ErrorCode, RatchetError, type ValidationIssue } from '@ratchet/core';

/** Why an app module could not be loaded. */
export type AppLoadFailure =
  /** No file at the path. */
  | 'not-found'
  /** A directory, or not an ES module file (.ts, .mts, .js, .mjs). */
  | 'not-a-module'
  /** The module (or one it imports) does not parse. */
  | 'syntax-error'
  /** Importing it threw: its own code, a missing import, bad environment it reads. */
  | 'import-failed'
  /** It has no `export default`. */
  | 'no-default-export'
  /** Its default export was not made by `defineApp` (or by a version of it this runtime cannot read). */
  | 'not-an-app'
  /** `defineApp`, `defineAggregate` or `defineProjection` refused a definition while it was imported. */
  | 'invalid-app';

/** Options of {@link AppLoadError}. */
export interface AppLoadErrorOptions extends ErrorOptions {
  /** Every definition problem, for `invalid-app`. */
  readonly issues?: readonly ValidationIssue[];
  /** Where in the app's code it failed, e.g. `file:///app/src/app.ts:3:9`, when known. */
  readonly at?: string;
}

/**
 * An app module could not be loaded. The message names the file and what is wrong, in one line,
 * so a service can log it and exit; `reason` says which kind of failure it was, and `cause` keeps
 * the original error. Never retryable: the module has to change.
 */
export class AppLoadError extends RatchetError {
  override readonly name = 'AppLoadError';
  /** The absolute path that was loaded. */
  readonly file: string;
  readonly reason: AppLoadFailure;
  readonly issues: readonly ValidationIssue[];

  constructor(file: string, reason: AppLoadFailure, problem: string, options: AppLoadErrorOptions = {}) {
    const details: Record<string, unknown> = { file, reason };
    if (options.issues !== undefined) details.issues = options.issues;
    if (options.at !== undefined) details.at = options.at;
    super(ErrorCode.APP_LOAD_FAILED, `app module ${file}: ${problem}`, { cause: options.cause, details, retryable: false });
    this.file = file;
    this.reason = reason;
    this.issues = options.issues ?? [];
  }
}
