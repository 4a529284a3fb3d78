/** Extensions loaded through a TypeScript loader. */
const TYPESCRIPT = /\.(ts|mts)$/;

/** Whether this app file needs a TypeScript loader. */
export function isTypeScriptFile(file: string): boolean {
  return TYPESCRIPT.test(file);
}

/**
 * Whether tsx is already loaded into this process: `node --import tsx` (how the services, the demo
 * and the tests run in development), the `tsx` command (it passes its loader's path), or either
 * through NODE_OPTIONS.
 */
export function typeScriptLoaderActive(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
): boolean {
  return /(^|[\s=/\\])tsx($|[\s/\\])/.test(`${execArgv.join(' ')} ${nodeOptions}`);
}

let registering: Promise<void> | undefined;

/**
 * Make `import()` of TypeScript work in a process started without a TypeScript loader (a built
 * service running `node dist/main.js` given a `.ts` app): register tsx's ESM hooks, once, for the
 * rest of the process. A second registration would work too, but would compile every module twice.
 * tsx is loaded only here, so a process loading a built `.js` app never loads it.
 */
export function ensureTypeScriptLoader(): Promise<void> {
  if (typeScriptLoaderActive()) return Promise.resolve();
  registering ??= import('tsx/esm/api').then(({ register }) => {
    register();
  });
  return registering;
}
