// The loader is its own entry (`@ratchet/app/load`): app modules import `defineApp` from the main
// entry on every process, and need none of this (file checks, tsx registration, child processes).
export { loadApp } from './load-app.js';
export type { LoadAppOptions, LoadedApp } from './load-app.js';
export { resolveAppPath } from './resolve-app-path.js';
export { typeScriptLoaderActive } from './typescript-loader.js';
export { resolveAppProject, DEFAULT_APP_MODULES } from './resolve-app-project.js';
export type { AppProject } from './resolve-app-project.js';
