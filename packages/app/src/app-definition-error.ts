import { ErrorCode, RatchetError, type ValidationIssue } from '@ratchet/core';

/**
 * `defineApp` was given something that cannot run: a duplicate aggregate type, a value that is not
 * an aggregate or a projection, two projections claiming one table… `issues` lists every problem,
 * not just the first. A bug in the app's code: retrying cannot help.
 */
export class AppDefinitionError extends RatchetError {
  override readonly name = 'AppDefinitionError';
  /** The app's name as given (may itself be the problem). */
  readonly app: string;
  readonly issues: readonly ValidationIssue[];

  constructor(app: string, issues: readonly ValidationIssue[], options: ErrorOptions = {}) {
    const list = issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(app)'}: ${i.message}`).join('; ');
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(ErrorCode.DEFINITION_ERROR, `app "${app}" is invalid, ${count}: ${list}`, { ...options, details: { app, issues } });
    this.app = app;
    this.issues = issues;
  }
}
