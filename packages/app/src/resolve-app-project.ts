import { readFile, stat } from 'node:fs/promises';
import { dirname, join, parse } from 'node:path';
import { AppLoadError } from './app-load-error.js';
import { resolveAppPath } from './resolve-app-path.js';

/** Where an app module lives, and the app's own web server when it has one. */
export interface AppProject {
  /** The app module, absolute. */
  readonly file: string;
  /** The project directory: the one given, else the nearest one above the app module holding a package.json. */
  readonly dir: string;
  /** The app's web server entry, absolute (package.json `"ratchet": { "web": … }`); undefined when it has none. */
  readonly web?: string;
}

/** App module files looked for, in order, in a project directory whose package.json names none. */
export const DEFAULT_APP_MODULES: readonly string[] = ['src/app.ts', 'src/app.mts', 'app.ts', 'app.mts', 'src/app.js', 'app.js'];

/** The `"ratchet"` field of a project's package.json. */
interface ProjectField {
  readonly app?: string;
  readonly web?: string;
}

const isFile = async (path: string): Promise<boolean> => (await stat(path).catch(() => undefined))?.isFile() === true;

/** The package.json's `"ratchet"` field, checked; undefined when the directory has no package.json. */
async function readProjectField(dir: string): Promise<ProjectField | undefined> {
  const manifest = join(dir, 'package.json');
  let text: string;
  try {
    text = await readFile(manifest, 'utf8');
  } catch {
    return undefined;
  }
  let field: unknown;
  try {
    field = (JSON.parse(text) as { ratchet?: unknown }).ratchet ?? {};
  } catch (error) {
    throw new AppLoadError(manifest, 'not-a-module', `is not JSON: ${(error as Error).message}`, { cause: error });
  }
  const ok = (v: unknown) => v === undefined || (typeof v === 'string' && v !== '');
  const f = field as Record<string, unknown>;
  if (typeof field !== 'object' || field === null || !ok(f.app) || !ok(f.web)) {
    throw new AppLoadError(
      manifest,
      'not-a-module',
      '"ratchet" must be an object like { "app": "src/app.ts", "web": "web.ts" } (both paths, both optional)',
    );
  }
  return { ...(typeof f.app === 'string' ? { app: f.app } : {}), ...(typeof f.web === 'string' ? { web: f.web } : {}) };
}

/** The nearest directory from `dir` up that holds a package.json, or `dir` when none does. */
async function nearestProjectDir(dir: string): Promise<string> {
  for (let d = dir; ; d = dirname(d)) {
    if (await isFile(join(d, 'package.json'))) return d;
    if (d === parse(d).root) return dir;
  }
}

/** The web entry the project's package.json names, checked to exist. */
async function webEntry(dir: string, field: ProjectField | undefined): Promise<{ web?: string }> {
  if (field?.web === undefined) return {};
  const web = join(dir, field.web);
  if (!(await isFile(web))) {
    throw new AppLoadError(join(dir, 'package.json'), 'not-found', `"ratchet": { "web": "${field.web}" } names no file (${web})`);
  }
  return { web };
}

/**
 * Find an app from what a user typed: an app module file, or a project directory. A directory's
 * package.json may name both (`"ratchet": { "app": "src/app.ts", "web": "web.ts" }`); without
 * `app`, the first of {@link DEFAULT_APP_MODULES} that exists is the app module. For a file, the
 * web entry comes from the nearest package.json above it. Only paths are checked here; `loadApp`
 * imports the module. Throws {@link AppLoadError} (`not-found`, `not-a-module`).
 * @example
 * const { file, web } = await resolveAppProject('examples/bookstore'); // …/src/app.ts, …/web.ts
 */
export async function resolveAppProject(path: string, cwd?: string): Promise<AppProject> {
  const given = resolveAppPath(path, cwd);
  const info = await stat(given).catch(() => undefined);
  if (info === undefined) {
    throw new AppLoadError(given, 'not-found', `no such file or directory (given "${path}", resolved against ${cwd ?? process.cwd()})`);
  }
  if (info.isFile()) {
    const dir = await nearestProjectDir(dirname(given));
    return { file: given, dir, ...(await webEntry(dir, await readProjectField(dir))) };
  }
  const field = await readProjectField(given);
  const candidates = field?.app === undefined ? DEFAULT_APP_MODULES : [field.app];
  for (const candidate of candidates) {
    const file = join(given, candidate);
    if (await isFile(file)) return { file, dir: given, ...(await webEntry(given, field)) };
  }
  if (field?.app !== undefined) {
    throw new AppLoadError(
      join(given, 'package.json'),
      'not-found',
      `"ratchet": { "app": "${field.app}" } names no file (${join(given, field.app)})`,
    );
  }
  throw new AppLoadError(
    given,
    'not-a-module',
    `is a directory with no app module (looked for ${DEFAULT_APP_MODULES.join(', ')}): name the file, or add "ratchet": { "app": "<path>" } to its package.json`,
  );
}
