import type { App } from '@ratchet/app';
import { RatchetError } from '@ratchet/core';
import { usageError } from './cli-error.js';
import type { CliContext } from './cli-context.js';

/**
 * The app the command is checked against (`--app`, `$RATCHET_APP`, the running `ratchet dev`'s),
 * loaded the way the services load it; undefined when none is named. A path may be an app module
 * or a project directory. An app that cannot be loaded is a usage error (exit 2) naming the file.
 */
export async function loadCliApp(ctx: CliContext): Promise<App | undefined> {
  const source = ctx.options.app;
  if (source === undefined) return undefined;
  // Loaded on use: a command without an app never pulls in the loader (or tsx).
  const { loadApp, resolveAppProject } = await import('@ratchet/app/load');
  try {
    const project = await resolveAppProject(source.path);
    return (await loadApp(project.file)).app;
  } catch (error) {
    if (error instanceof RatchetError) throw usageError(`${error.message} (the app named by ${source.origin})`, { cause: error });
    throw error;
  }
}

/** The app, or a usage error saying how to name one: for commands that need its definitions. */
export async function requireCliApp(ctx: CliContext, what: string): Promise<App> {
  const app = await loadCliApp(ctx);
  if (app === undefined) {
    throw usageError(
      `${what} needs the app that defines it: pass --app <path> (a module or project directory), set RATCHET_APP, or run ratchet dev`,
    );
  }
  return app;
}
