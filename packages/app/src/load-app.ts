import { stat } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { APP_FORMAT, appFormatOf, isApp, type App } from './app.js';
import { AppLoadError } from './app-load-error.js';
import { importFailure } from './import-failure.js';
import { resolveAppPath } from './resolve-app-path.js';
import { ensureTypeScriptLoader, isTypeScriptFile } from './typescript-loader.js';

/** ES module files an app may be: TypeScript sources in development, built JavaScript in production. */
const MODULE_FILE = /\.(ts|mts|js|mjs)$/;

/** Options of {@link loadApp}. */
export interface LoadAppOptions {
  /** Directory a relative path is resolved against. Default: the process's working directory. */
  readonly cwd?: string;
}

/** An app and the file it was loaded from. */
export interface LoadedApp {
  readonly app: App;
  /** The absolute path of the app module. */
  readonly file: string;
}

function describeExport(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return 'a function (export the app itself: `export default defineApp({...})`)';
  if (typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function')
    return 'a promise (use top-level await: `export default await …`)';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `a plain object with keys ${Object.keys(value).slice(0, 6).join(', ') || '(none)'}`;
  return `a ${typeof value}`;
}

/**
 * Load an app module by path, the way every service does: resolve it against the working
 * directory, import it (a `.ts` source through tsx, registered here if the process was started
 * without it; a built `.js` directly), and check that its default export is an app made by
 * `defineApp`. Anything else throws an {@link AppLoadError} whose message names the file and says
 * what is wrong, with `reason` for code and the original error as `cause`.
 * @example
 * const { app, file } = await loadApp(process.env.RATCHET_APP ?? './src/app.ts');
 * createWorker({ ...options, aggregates: app.aggregates });
 */
export async function loadApp(path: string, options: LoadAppOptions = {}): Promise<LoadedApp> {
  const file = resolveAppPath(path, options.cwd);
  const info = await stat(file).catch(() => undefined);
  if (info === undefined) {
    throw new AppLoadError(file, 'not-found', `no such file (given "${path}", resolved against ${options.cwd ?? process.cwd()})`);
  }
  if (!info.isFile()) throw new AppLoadError(file, 'not-a-module', 'is a directory: name the module file, e.g. src/app.ts');
  if (!MODULE_FILE.test(file)) {
    throw new AppLoadError(file, 'not-a-module', 'is not an ES module file: an app module ends in .ts, .mts, .js or .mjs');
  }

  let namespace: Record<string, unknown>;
  try {
    if (isTypeScriptFile(file)) await ensureTypeScriptLoader();
    namespace = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw await importFailure(file, error);
  }

  if (!('default' in namespace)) {
    const names = Object.keys(namespace);
    const exported = names.length === 0 ? 'it exports nothing' : `it exports ${names.join(', ')}`;
    throw new AppLoadError(
      file,
      'no-default-export',
      `has no default export (${exported}): end it with \`export default defineApp({...})\``,
    );
  }
  const app = namespace.default;
  if (isApp(app)) return { app, file };
  const format = appFormatOf(app);
  if (format !== undefined) {
    throw new AppLoadError(
      file,
      'not-an-app',
      `its default export is an app of format ${format}; this runtime reads format ${APP_FORMAT} (align the @ratchet/app versions)`,
    );
  }
  throw new AppLoadError(file, 'not-an-app', `its default export is not an app made by defineApp (got ${describeExport(app)})`);
}
