import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { projectDir } from './project-dir.js';

/** The data directory of the project's `ratchet dev` or demo: `$RATCHET_DATA_DIR`, else `<project>/.data`. */
export function demoDataDir(env: Readonly<Record<string, string | undefined>>): string {
  const given = env.RATCHET_DATA_DIR;
  return given !== undefined && given !== '' ? given : join(projectDir(), '.data');
}

// What `ratchet dev` (and `npm run demo`) writes to <data dir>/demo.json while it runs (services/demo/src/demo-state.ts).
const DemoStateSchema = z.object({
  pid: z.number().int().positive(),
  natsUrl: z.string().min(1).optional(),
  databaseUrl: z.string().min(1).optional(),
  dashboardUrl: z.string().min(1).optional(),
  gatewayUrl: z.string().min(1).optional(),
  webUrl: z.string().min(1).optional(),
  /** The app module it serves (absolute). */
  app: z.string().min(1).optional(),
  appName: z.string().min(1).optional(),
  partitions: z.number().int().min(1).max(4096),
  distributed: z.boolean(),
});

/** A `ratchet dev` or demo that runs now, as its `demo.json` describes it. */
export interface RunningDemo extends z.output<typeof DemoStateSchema> {
  /** The file it was read from, for messages. */
  readonly file: string;
}

/**
 * The demo running from this checkout, so that `ratchet send …` needs no flags while `npm run demo`
 * runs on ports it picked. Undefined when there is no `demo.json`, it does not parse, or its process
 * is gone (a demo that was killed leaves the file behind).
 */
export function findRunningDemo(env: Readonly<Record<string, string | undefined>>): RunningDemo | undefined {
  const file = join(demoDataDir(env), 'demo.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let parsed: ReturnType<typeof DemoStateSchema.safeParse>;
  try {
    parsed = DemoStateSchema.safeParse(JSON.parse(text));
  } catch {
    return undefined;
  }
  if (!parsed.success || !alive(parsed.data.pid)) return undefined;
  return { ...parsed.data, file };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
