// loadApp runs in a child process started the way the services start (node --conditions=source
// --import tsx), because in vitest's own module runner import() would go through Vite, not Node:
// the errors a service sees (esbuild's, Node's parser's) only happen in a real Node process.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveAppPath } from './resolve-app-path.js';
import { typeScriptLoaderActive } from './typescript-loader.js';

const packageDir = fileURLToPath(new URL('../', import.meta.url));
const fixtures = `${packageDir}test/fixtures/`;

interface ProbeResult {
  readonly path: string;
  readonly ok: boolean;
  readonly file: string;
  readonly name?: string;
  readonly aggregates?: string[];
  readonly typed?: boolean;
  readonly code?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly issues?: Array<{ path: Array<string | number>; message: string }>;
  readonly retryable?: boolean;
}

const PATHS = [
  'test/fixtures/counter-app.ts',
  'test/fixtures/tally-app.js',
  'test/fixtures/missing-app.ts',
  'test/fixtures',
  'package.json',
  'test/fixtures/throws-on-import.ts',
  'test/fixtures/syntax-error.ts',
  'test/fixtures/broken-syntax.js',
  'test/fixtures/no-default-export.ts',
  'test/fixtures/not-an-app.ts',
  'test/fixtures/duplicate-aggregates.ts',
  'test/fixtures/invalid-aggregate.ts',
  'test/fixtures/invalid-projection.ts',
];

let results: Map<string, ProbeResult>;

function result(path: string): ProbeResult {
  const r = results.get(path);
  if (r === undefined) throw new Error(`the probe printed nothing for ${path}`);
  return r;
}

beforeAll(async () => {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', 'test/load-probe.ts', ...PATHS],
      { cwd: packageDir, timeout: 60_000, env: { ...process.env, FIXTURE_REGION: '' } },
      (error, out, err) => (error === null ? resolve(out) : reject(new Error(`load probe failed: ${error.message}\n${err}`))),
    );
  });
  results = new Map(
    stdout
      .trim()
      .split('\n')
      .map((line) => {
        const r = JSON.parse(line) as ProbeResult;
        return [r.path, r];
      }),
  );
}, 90_000);

describe('loadApp', () => {
  it('loads a TypeScript app from its source, resolved against the working directory', () => {
    expect(result('test/fixtures/counter-app.ts')).toEqual({
      path: 'test/fixtures/counter-app.ts',
      ok: true,
      file: `${fixtures}counter-app.ts`,
      name: 'counter',
      aggregates: ['counter'],
    });
  });

  it('loads a JavaScript app directly', () => {
    expect(result('test/fixtures/tally-app.js')).toMatchObject({ ok: true, name: 'tally', aggregates: ['tally'] });
  });

  it.each([
    [
      'test/fixtures/missing-app.ts',
      'not-found',
      `app module ${fixtures}missing-app.ts: no such file (given "test/fixtures/missing-app.ts", resolved against ${packageDir.replace(/\/$/, '')})`,
    ],
    ['test/fixtures', 'not-a-module', `app module ${fixtures.replace(/\/$/, '')}: is a directory: name the module file, e.g. src/app.ts`],
    [
      'package.json',
      'not-a-module',
      `app module ${packageDir}package.json: is not an ES module file: an app module ends in .ts, .mts, .js or .mjs`,
    ],
    [
      'test/fixtures/throws-on-import.ts',
      'import-failed',
      `app module ${fixtures}throws-on-import.ts: it threw on import: FIXTURE_REGION is not set (at ${fixtures}throws-on-import.ts:3:20)`,
    ],
    [
      'test/fixtures/syntax-error.ts',
      'syntax-error',
      `app module ${fixtures}syntax-error.ts: syntax error at ${fixtures}syntax-error.ts:4:57: Unexpected "}"`,
    ],
    [
      'test/fixtures/broken-syntax.js',
      'syntax-error',
      `app module ${fixtures}broken-syntax.js: syntax error at ${fixtures}broken-syntax.js:4:58: Unexpected token '}' (in \`export default defineApp({ name: 'broken', aggregates: [ });\`)`,
    ],
    [
      'test/fixtures/no-default-export.ts',
      'no-default-export',
      `app module ${fixtures}no-default-export.ts: has no default export (it exports app): end it with \`export default defineApp({...})\``,
    ],
    [
      'test/fixtures/not-an-app.ts',
      'not-an-app',
      `app module ${fixtures}not-an-app.ts: its default export is not an app made by defineApp (got a plain object with keys name, aggregates, projections)`,
    ],
    [
      'test/fixtures/duplicate-aggregates.ts',
      'invalid-app',
      `app module ${fixtures}duplicate-aggregates.ts: app "twice" is invalid, 1 problem: aggregates.1.type: aggregate type "counter" is listed twice (also at aggregates.0) (at ${fixtures}duplicate-aggregates.ts:5:16)`,
    ],
    [
      'test/fixtures/invalid-aggregate.ts',
      'invalid-app',
      `app module ${fixtures}invalid-aggregate.ts: app "slip" is invalid, 1 problem: aggregates.1: not an aggregate made by defineAggregate (got an object with keys config, version, schemas, implementations, options, __xstatenode) (at ${fixtures}invalid-aggregate.ts:5:16)`,
    ],
    [
      'test/fixtures/invalid-projection.ts',
      'invalid-app',
      `app module ${fixtures}invalid-projection.ts: projection totals: table name "Totals" must match /^[a-z][a-z0-9_]{0,39}$/ (at ${fixtures}invalid-projection.ts:6:16)`,
    ],
  ])('%s: a typed AppLoadError (%s) naming the file and the problem', (path, reason, message) => {
    const r = result(path);
    expect(r).toMatchObject({ ok: false, typed: true, code: 'APP_LOAD_FAILED', retryable: false, reason, message });
  });

  it("keeps defineApp's issue list when the app module's definition is invalid", () => {
    expect(result('test/fixtures/duplicate-aggregates.ts').issues).toEqual([
      { path: ['aggregates', 1, 'type'], message: 'aggregate type "counter" is listed twice (also at aggregates.0)' },
    ]);
  });
});

describe('resolveAppPath', () => {
  it('resolves relative paths against the given directory, keeps absolute ones, and reads file URLs', () => {
    expect(resolveAppPath('./src/app.ts', '/srv/shop')).toBe('/srv/shop/src/app.ts');
    expect(resolveAppPath('../shop/dist/app.js', '/srv/ops')).toBe('/srv/shop/dist/app.js');
    expect(resolveAppPath('/opt/app/app.js', '/srv/shop')).toBe('/opt/app/app.js');
    expect(resolveAppPath('file:///opt/app/app.js')).toBe('/opt/app/app.js');
  });
});

describe('typeScriptLoaderActive', () => {
  it('sees tsx loaded by --import, by the tsx command or through NODE_OPTIONS, and nothing else', () => {
    expect(typeScriptLoaderActive(['--conditions=source', '--import', 'tsx'], '')).toBe(true);
    expect(typeScriptLoaderActive(['--import=tsx'], '')).toBe(true);
    expect(
      typeScriptLoaderActive(
        ['--require', '/x/node_modules/tsx/dist/preflight.cjs', '--import', 'file:///x/node_modules/tsx/dist/loader.mjs'],
        '',
      ),
    ).toBe(true);
    expect(typeScriptLoaderActive([], '--import tsx')).toBe(true);
    expect(typeScriptLoaderActive([], '')).toBe(false);
    expect(typeScriptLoaderActive(['--enable-source-maps', '--import', './otel.mjs'], '--max-old-space-size=4096')).toBe(false);
  });
});
