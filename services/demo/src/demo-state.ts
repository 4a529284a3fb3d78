import { readFileSync, rmSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * What a running demo or `ratchet dev` tells the `ratchet` CLI (packages/cli/src/running-demo.ts
 * reads it): it picks free ports, so without this file `ratchet send …` would need `--nats` and
 * `--db`, and `--app` to check commands against the app.
 */
export interface DemoState {
  readonly pid: number;
  /** Absent in embedded mode: there is no NATS outside the demo's process. */
  readonly natsUrl?: string;
  /** Absent in embedded mode (PGlite inside the demo's process). */
  readonly databaseUrl?: string;
  readonly dashboardUrl?: string;
  /** The HTTP gateway (`POST /commands/<type>/<id>`), when one runs. */
  readonly gatewayUrl?: string;
  /** The app's own web server, when it has one and it runs. */
  readonly webUrl?: string;
  /** The app module every process loaded (absolute): `ratchet send` checks commands against it. */
  readonly app: string;
  /** The app's name (`defineApp({ name })`). */
  readonly appName: string;
  readonly partitions: number;
  readonly distributed: boolean;
}

/** The demo's state file in its data directory. */
export function demoStateFile(dataDir: string): string {
  return join(dataDir, 'demo.json');
}

/**
 * Write `<dataDir>/demo.json` (atomically: a reader never sees half of it) and return the function
 * that removes it; it is also removed when the process exits, so only a SIGKILLed demo leaves it
 * behind, and the CLI ignores a file whose pid is gone.
 */
export async function writeDemoState(dataDir: string, state: DemoState): Promise<() => void> {
  const file = demoStateFile(dataDir);
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(temp, file);
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    removed = true;
    process.off('exit', remove);
    // Another demo on the same data directory may have replaced it: leave that one's file alone.
    if (ownerOf(file) === state.pid) rmSync(file, { force: true });
  };
  process.on('exit', remove);
  return remove;
}

function ownerOf(file: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { pid?: number }).pid;
  } catch {
    return undefined;
  }
}
