import { pathToFileURL, fileURLToPath } from 'node:url';
import { usageError } from '../cli-error.js';
import type { CliContext } from '../cli-context.js';
import type { CommandRun } from '../command-spec.js';

/** The service processes `ratchet worker|projector|gateway` become. */
export type ServedProcess = 'worker' | 'projector' | 'gateway';

const ENTRIES: Readonly<Record<ServedProcess, string>> = {
  worker: '@ratchet/worker-service/main',
  projector: '@ratchet/projector-service/main',
  gateway: '@ratchet/gateway-service/main',
};

/**
 * `ratchet worker|projector|gateway [app]`: this process becomes that service, in the foreground,
 * configured from the environment as the service documents it (docs/operations.md), with the
 * CLI's --nats, --db and --partitions (or a running `ratchet dev`'s servers) filled in. The app: the
 * argument (a module or a project directory), else --app, $RATCHET_APP or the running dev's, else
 * the service's default (the turnstile app). The service drains and exits on SIGTERM or Ctrl-C.
 */
export function serve(service: ServedProcess): CommandRun {
  return async (ctx: CliContext, positionals: readonly string[]): Promise<number> => {
    const [path, ...extra] = positionals;
    if (extra.length > 0) throw usageError(`usage: ratchet ${service} [app]`);
    const app = path ?? ctx.options.app?.path;
    let file: string | undefined;
    if (app !== undefined) {
      const { resolveAppProject } = await import('@ratchet/app/load');
      try {
        file = (await resolveAppProject(app)).file;
      } catch (error) {
        throw usageError(error instanceof Error ? error.message : String(error), { cause: error });
      }
    }
    // The service reads its config from the environment: what the CLI resolved goes there, unless the
    // environment named it already.
    const { options } = ctx;
    if (options.origins.nats !== '$NATS_URL') process.env.NATS_URL = options.nats;
    if (options.db !== undefined && options.origins.db !== '$DATABASE_URL') process.env.DATABASE_URL = options.db;
    if (options.db === undefined && service !== 'gateway') {
      throw usageError(`no database: pass --db <postgres-url> or set DATABASE_URL (the ${service} keeps its state in Postgres)`);
    }
    process.env.RATCHET_PARTITIONS = String(options.partitions);
    const entry = fileURLToPath(import.meta.resolve(ENTRIES[service]));
    // The service takes its app from argv[2], as `node main.js <app>` would give it.
    process.argv = [process.argv[0] ?? process.execPath, entry, ...(file === undefined ? [] : [file])];
    await import(pathToFileURL(entry).href);
    // It runs until a signal drains it, and then exits the process itself.
    return new Promise<number>(() => undefined);
  };
}
