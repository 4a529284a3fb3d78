/**
 * `npm run bench`: the append, replay and end-to-end benchmarks in sequence; prints the table and
 * one JSON line per figure, and writes every figure to bench/results/latest.json.
 * Run: npm run bench [-- --quick] [-- --seconds N --repeats N] [-- --only append,replay,e2e]
 * `--quick` ≈ 1 s per figure and 1 repetition (CI smoke run); the default is 3 s × 3, medians reported.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runAppendBench } from './append.bench.js';
import { runE2eBench, targetLines } from './e2e.bench.js';
import { runReplayBench } from './replay.bench.js';
import { parseBenchArgs, reportAll, stringArg, type Figure } from './stats.js';

const args = parseBenchArgs();
const only = new Set((stringArg('only') ?? 'append,replay,e2e').split(','));
const log = (line: string): void => console.error(line);
const started = Date.now();
const sections: Array<{ title: string; figures: Figure[] }> = [];

if (only.has('append')) {
  log('— append');
  // The append bench's figures have the same {name, value, unit, baseline, ratio} shape.
  sections.push({ title: 'append', figures: [...(await runAppendBench({ seconds: args.seconds, repeats: args.repeats, log }))] });
}
if (only.has('replay')) {
  log('— replay');
  sections.push({ title: 'replay', figures: await runReplayBench({ seconds: args.seconds, repeats: args.repeats, log }) });
}
if (only.has('e2e')) {
  log('— e2e');
  sections.push({ title: 'e2e', figures: await runE2eBench({ seconds: args.seconds, repeats: args.repeats, log }) });
}

console.log(`\nmedians of ${args.repeats} × ${args.seconds}s per figure${args.quick ? ' (--quick)' : ''}; ${((Date.now() - started) / 1000).toFixed(0)} s in all`);
for (const s of sections) reportAll(s.figures, `— ${s.title}`);
const all = sections.flatMap((s) => s.figures);
const targets = targetLines(all);
if (targets.length > 0) console.log('');
for (const line of targets) console.log(line);

const out = fileURLToPath(new URL('./results/latest.json', import.meta.url));
await mkdir(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
await writeFile(
  out,
  `${JSON.stringify(
    {
      at: new Date(started).toISOString(),
      node: process.version,
      cpus: cpus().length,
      seconds: args.seconds,
      repeats: args.repeats,
      quick: args.quick,
      figures: all,
      targets,
    },
    null,
    2,
  )}\n`,
);
log(`figures written to ${out}`);
