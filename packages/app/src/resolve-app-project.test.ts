import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppLoadError } from './app-load-error.js';
import { resolveAppProject } from './resolve-app-project.js';

let root: string;

/** Write `files` (path → content) under a new directory of `root`. */
async function project(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(root, name);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

async function refusal(path: string): Promise<AppLoadError> {
  const error = await resolveAppProject(path, root).catch((e: unknown) => e);
  if (error instanceof AppLoadError) return error;
  throw new Error(`expected an AppLoadError, got ${String(error)}`);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ratchet-app-project-'));
});
afterAll(async () => rm(root, { recursive: true, force: true }));

describe('resolveAppProject', () => {
  it('takes the app module and web entry a project directory names in package.json', async () => {
    const dir = await project('shop', {
      'package.json': JSON.stringify({ name: 'shop', ratchet: { app: 'lib/shop-app.ts', web: 'web.ts' } }),
      'lib/shop-app.ts': '',
      'web.ts': '',
    });
    expect(await resolveAppProject('shop', root)).toEqual({ file: join(dir, 'lib/shop-app.ts'), dir, web: join(dir, 'web.ts') });
  });

  it('finds src/app.ts (then app.ts, then the .js ones) when package.json names no app module, and no web entry', async () => {
    const dir = await project('plain', { 'package.json': '{"name":"plain"}', 'src/app.ts': '', 'app.js': '' });
    expect(await resolveAppProject(dir)).toEqual({ file: join(dir, 'src/app.ts'), dir });
    const bare = await project('bare', { 'app.mts': '' });
    expect(await resolveAppProject('bare', root)).toEqual({ file: join(bare, 'app.mts'), dir: bare });
  });

  it('for a module file, reads the web entry from the nearest package.json above it', async () => {
    const dir = await project('nested', {
      'package.json': JSON.stringify({ ratchet: { web: 'server/web.js' } }),
      'server/web.js': '',
      'src/domain/app.ts': '',
    });
    expect(await resolveAppProject('nested/src/domain/app.ts', root)).toEqual({
      file: join(dir, 'src/domain/app.ts'),
      dir,
      web: join(dir, 'server/web.js'),
    });
  });

  it('refuses a missing path, a directory without an app module, and names that point nowhere', async () => {
    expect(await refusal('nowhere')).toMatchObject({
      reason: 'not-found',
      message: `app module ${join(root, 'nowhere')}: no such file or directory (given "nowhere", resolved against ${root})`,
    });
    await project('empty', { 'package.json': '{}' });
    expect((await refusal('empty')).message).toMatch(
      /is a directory with no app module \(looked for src\/app\.ts, .*\): name the file, or add "ratchet": \{ "app": "<path>" \}/,
    );
    await project('typo', { 'package.json': JSON.stringify({ ratchet: { app: 'src/ap.ts' } }), 'src/app.ts': '' });
    expect(await refusal('typo')).toMatchObject({
      reason: 'not-found',
      message: expect.stringContaining('"ratchet": { "app": "src/ap.ts" } names no file'),
    });
    await project('no-web', { 'package.json': JSON.stringify({ ratchet: { web: 'web.ts' } }), 'src/app.ts': '' });
    expect((await refusal('no-web')).message).toContain('"ratchet": { "web": "web.ts" } names no file');
    await project('bad-field', { 'package.json': JSON.stringify({ ratchet: 'src/app.ts' }), 'src/app.ts': '' });
    expect((await refusal('bad-field')).message).toContain('"ratchet" must be an object');
  });
});
