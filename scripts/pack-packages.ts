// Build every public Ratchet package and `npm pack` it: the tarballs a project outside this
// repository installs (`npm run pack`, test/install/tarballs.test.ts, docs/your-first-app.md).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url)).replace(/\/$/, '');

/** A workspace that is published: not `"private": true`. */
export interface PublicWorkspace {
  readonly name: string;
  /** Its directory, relative to the repository root (e.g. `packages/core`). */
  readonly dir: string;
}

/** A packed workspace and its tarball. */
export interface PackedPackage extends PublicWorkspace {
  /** The tarball, absolute. */
  readonly tarball: string;
}

/** Options of {@link packPackages}. */
export interface PackPackagesOptions {
  /** Where the tarballs go; other `.tgz` files there are removed. */
  readonly dest: string;
  /** Build (`tsc -b`) the public workspaces first. Default true: a tarball carries `dist`. */
  readonly build?: boolean;
  /** Progress lines. Default none. */
  readonly log?: (line: string) => void;
}

/** The public workspaces, by the root package.json's `workspaces` globs (each `<dir>/*`). */
export async function publicWorkspaces(root: string = REPO_ROOT): Promise<PublicWorkspace[]> {
  const { workspaces } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { workspaces: string[] };
  const found: PublicWorkspace[] = [];
  for (const glob of workspaces) {
    const parent = glob.replace(/\/\*$/, '');
    for (const entry of (await readdir(join(root, parent), { withFileTypes: true })).filter((e) => e.isDirectory())) {
      const dir = `${parent}/${entry.name}`;
      const manifest = await readFile(join(root, dir, 'package.json'), 'utf8').catch(() => undefined);
      if (manifest === undefined) continue;
      const pkg = JSON.parse(manifest) as { name: string; private?: boolean };
      if (pkg.private !== true) found.push({ name: pkg.name, dir });
    }
  }
  return found.sort((a, b) => a.dir.localeCompare(b.dir));
}

function run(command: string, args: readonly string[], cwd: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      command,
      [...args],
      { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_loglevel: 'error' } },
      (error, stdout, stderr) => {
        if (error === null) resolvePromise(stdout);
        else
          reject(
            new Error(`${command} ${args.slice(0, 3).join(' ')}… failed (${error.message.split('\n')[0]}):\n${stdout}${stderr}`.trim()),
          );
      },
    );
  });
}

const LOCK = join(tmpdir(), 'ratchet-pack-build.lock');

/**
 * Run `fn` holding a lock directory, so two test files (or a test and `npm run pack`) never run
 * `tsc -b` over the same dist/ at once. A lock whose holder died is taken over.
 */
async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 600_000;
  for (;;) {
    try {
      await mkdir(LOCK);
      await writeFile(join(LOCK, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(await readFile(join(LOCK, 'pid'), 'utf8').catch(() => '0'));
      if (holder > 0 && !alive(holder)) await rm(LOCK, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`${LOCK} is held by pid ${holder} for too long`, { cause: error });
      else await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Build the public workspaces (`tsc -b`, which emits each one's `dist`) and pack each into
 * `dest` with `npm pack`, as `npm publish` would upload it: its `files`, its `exports`, no
 * workspace links. Resolves with the tarballs, one per public workspace.
 * @example
 * const packed = await packPackages({ dest: '.data/packs' });
 * // npm install .data/packs/*.tgz, in a project of your own
 */
export async function packPackages(options: PackPackagesOptions): Promise<PackedPackage[]> {
  const log = options.log ?? (() => undefined);
  const dest = resolve(options.dest);
  const workspaces = await publicWorkspaces();
  await mkdir(dest, { recursive: true });
  // Packed beside dest, then renamed in one by one: someone installing from dest meanwhile sees
  // each tarball whole, old or new, never a missing one.
  const staging = await mkdtemp(join(dest, '.packing-'));
  try {
    const packed = await withBuildLock(async () => {
      if (options.build !== false) {
        log(`building ${workspaces.length} packages (tsc -b)`);
        await run(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-b', ...workspaces.map((w) => w.dir)], REPO_ROOT);
      }
      log(`packing them into ${dest}`);
      const out = await run(
        'npm',
        ['pack', '--json', '--pack-destination', staging, ...workspaces.flatMap((w) => ['-w', w.dir])],
        REPO_ROOT,
      );
      return JSON.parse(out) as Array<{ name: string; filename: string }>;
    });
    const result = workspaces.map((w) => {
      const entry = packed.find((p) => p.name === w.name);
      if (entry === undefined) throw new Error(`npm pack wrote no tarball for ${w.name}`);
      return { ...w, tarball: join(dest, entry.filename) };
    });
    for (const p of result) await rename(join(staging, basename(p.tarball)), p.tarball);
    const current = new Set(result.map((p) => basename(p.tarball)));
    for (const stale of (await readdir(dest)).filter((f) => f.endsWith('.tgz') && !current.has(f)))
      await rm(join(dest, stale), { force: true });
    return result;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
