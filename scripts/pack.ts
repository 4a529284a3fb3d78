// `npm run pack [-- <dest>]`: build every public package and pack it into <dest> (default
// .data/packs), then print how a project outside this repository installs them. Until the packages
// are on a registry, this is how docs/your-first-app.md gets them.
import { relative, resolve } from 'node:path';
import { packPackages, REPO_ROOT } from './pack-packages.js';

const dest = resolve(process.argv[2] ?? resolve(REPO_ROOT, '.data/packs'));
try {
  const packed = await packPackages({ dest, log: (line) => process.stderr.write(`${line}\n`) });
  for (const p of packed) process.stdout.write(`${p.name.padEnd(32)} ${relative(process.cwd(), p.tarball)}\n`);
  process.stdout.write(`\n${packed.length} packages. In your project: npm install ${dest}/*.tgz\n`);
} catch (error) {
  process.stderr.write(`pack failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
