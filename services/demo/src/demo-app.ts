import type { App } from '@ratchet/app';
import { loadApp, resolveAppProject } from '@ratchet/app/load';
import { turnstileAppPath } from './turnstile-app-path.js';

/** The app a demo run serves: what every process it starts loads. */
export interface DemoApp {
  readonly app: App;
  /** The app module, absolute: its processes get it as RATCHET_APP. */
  readonly file: string;
  /** The app's own web server entry (its project's package.json `"ratchet": { "web" }`), when it has one. */
  readonly web?: string;
  /** The turnstile demo: riders ride, and the headless summary checks the turnstile read model. */
  readonly riders: boolean;
}

/** Whether a projector has anything to run for this app: projections or process managers. */
export function needsProjector(app: App): boolean {
  return app.projections.length > 0 || app.processes.length > 0;
}

/**
 * Load the app named on the command line (a module file or a project directory, relative to
 * `cwd`) the way the services will, so a bad one stops the run before any server starts; with
 * none, the turnstile app and its riders. Throws `AppLoadError`.
 * @example
 * const demoApp = await loadDemoApp('examples/bookstore'); // its app module and web.ts
 */
export async function loadDemoApp(path: string | undefined, cwd?: string): Promise<DemoApp> {
  if (path === undefined) {
    const { app, file } = await loadApp(turnstileAppPath());
    return { app, file, riders: true };
  }
  const project = await resolveAppProject(path, cwd);
  const { app, file } = await loadApp(project.file);
  return { app, file, ...(project.web === undefined ? {} : { web: project.web }), riders: false };
}
