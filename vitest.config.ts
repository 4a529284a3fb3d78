import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources (the "source" export condition),
// so tests never need a build step. Subpath exports (`@ratchet/app/load`) come first: an alias
// also matches longer specifiers, and would send them to `<name>/src/index.ts/load`.
const subpaths: Record<string, string> = {};
const alias: Record<string, string> = {};
for (const group of ['packages', 'services', 'examples']) {
  if (!existsSync(group)) continue;
  for (const dir of readdirSync(group)) {
    const manifest = join(group, dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const { name, exports = {} } = JSON.parse(readFileSync(manifest, 'utf8')) as {
      name: string;
      exports?: Record<string, { source?: string }>;
    };
    alias[name] = resolve(group, dir, 'src/index.ts');
    for (const [subpath, target] of Object.entries(exports)) {
      if (subpath !== '.' && target.source !== undefined) subpaths[`${name}${subpath.slice(1)}`] = resolve(group, dir, target.source);
    }
  }
}

export default defineConfig({
  resolve: { alias: { ...subpaths, ...alias } },
  test: {
    globalSetup: ['./test/global-setup.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'examples/*/src/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          // Property tests run thousands of cases; on a loaded CI machine that takes more than
          // vitest's 5 s default. No test here measures time.
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: [
            'packages/*/src/**/*.int.test.ts',
            'services/*/src/**/*.int.test.ts',
            'examples/*/src/**/*.int.test.ts',
            'examples/*/test/**/*.test.ts',
            'test/**/*.test.ts',
          ],
          exclude: ['test/containers/**', '**/node_modules/**'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Needs a Docker engine (and fails, not skips, without one): `npm run test:deploy`, and
        // .ci/run when it can start Docker. Never part of the default `npm test`.
        extends: true,
        test: {
          name: 'containers',
          include: ['test/containers/**/*.test.ts'],
          // One file at a time: the compose stack alone is 10 containers on 2 cores.
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
