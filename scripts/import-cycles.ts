/**
 * Import circles, file by file and package by package, in the source of packages/ and services/
 * (tests aside). Type-only imports count too: a circle through types still means two files that
 * cannot be read one without the other. Prints each circle and exits 1 when there is one; part of
 * `npm run check`.
 * Run: node --import tsx scripts/import-cycles.ts
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const root = process.cwd();
const files = execFileSync(
  'git',
  ['ls-files', 'packages/*/src/*.ts', 'packages/*/src/**/*.ts', 'services/*/src/*.ts', 'services/*/src/**/*.ts'],
  {
    encoding: 'utf8',
  },
)
  .split('\n')
  .filter((f) => f !== '' && !f.endsWith('.test.ts'));

const packageDir = (file: string): string => file.split('/').slice(0, 2).join('/');
const packageByName = new Map<string, string>();
for (const dir of new Set(files.map(packageDir))) {
  const manifest = join(dir, 'package.json');
  if (existsSync(manifest)) packageByName.set((JSON.parse(readFileSync(manifest, 'utf8')) as { name: string }).name, dir);
}

const fileGraph = new Map<string, string[]>();
const packageGraph = new Map<string, Set<string>>();
const IMPORT = /^(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm;
for (const file of files) {
  const imports: string[] = [];
  for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
    const spec = match[1] ?? '';
    if (spec.startsWith('.')) {
      const target = relative(root, join(root, dirname(file), spec.replace(/\.js$/, '.ts')));
      if (existsSync(target)) imports.push(target);
    } else if (spec.startsWith('@ratchet/')) {
      const dir = packageByName.get(spec.split('/').slice(0, 2).join('/'));
      if (dir !== undefined && dir !== packageDir(file)) {
        const deps = packageGraph.get(packageDir(file)) ?? new Set<string>();
        deps.add(dir);
        packageGraph.set(packageDir(file), deps);
      }
    }
  }
  fileGraph.set(file, imports);
}

/** Every circle found by a depth-first walk (each back edge once). */
function circles(graph: ReadonlyMap<string, Iterable<string>>): string[] {
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next].join(' → '));
      else if (state.get(next) === undefined) visit(next);
    }
    path.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (state.get(node) === undefined) visit(node);
  return found;
}

const found = [...circles(packageGraph), ...circles(fileGraph)];
for (const circle of found) console.error(`import circle: ${circle}`);
if (found.length > 0) process.exit(1);
console.log(`no import circle among ${files.length} files in ${packageByName.size} packages`);
