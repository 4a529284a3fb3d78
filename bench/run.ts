/**
 * `npm run bench`: every benchmark in sequence (append, replay, e2e, the Emmett peer, projector,
 * process managers, memory, outbox lag, durable timers, the cost of sensitive fields); prints the table and one JSON line per figure, the targets met or not, and writes
 * every figure to bench/results/latest.json and the latency/throughput plot to
 * bench/results/latency-throughput.svg.
 * Run: npm run bench [-- --quick] [-- --seconds N --repeats N] [-- --only e2e,emmett]
 * `--quick` ≈ 1 s per figure and 1 repetition (CI smoke run); the default is 3 s × 3, medians reported.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runAppendBench } from './append.bench.js';
import { runCryptoBench } from './crypto.bench.js';
import { runE2eBench, targetLines } from './e2e.bench.js';
import { runEmmettBench } from './emmett.bench.js';
import { runMemoryBench } from './memory.bench.js';
import { outboxLagTargetLines, runOutboxLagBench } from './outbox-lag.bench.js';
import { curvesFrom, latencyThroughputSvg } from './plot.js';
import { runProcessBench } from './process.bench.js';
import { runProjectorBench } from './projector.bench.js';
import { runReplayBench } from './replay.bench.js';
import { runTimersBench } from './timers.bench.js';
import { figure, parseBenchArgs, reportAll, stringArg, type Figure } from './stats.js';

const SECTIONS = ['append', 'replay', 'e2e', 'emmett', 'projector', 'process', 'outbox-lag', 'memory', 'timers', 'crypto'] as const;
const args = parseBenchArgs();
const only = new Set((stringArg('only') ?? SECTIONS.join(',')).split(','));
for (const name of only) {
  if (!(SECTIONS as readonly string[]).includes(name)) {
    console.error(`--only: unknown benchmark '${name}' (known: ${SECTIONS.join(', ')})`);
    process.exit(2);
  }
}
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
if (only.has('emmett')) {
  log('— emmett (peer: @event-driven-io/emmett-postgresql 0.42.0)');
  const emmett = await runEmmettBench({ seconds: args.seconds, repeats: args.repeats, log });
  // Ratchet's e2e (over NATS, worker process) against Emmett's command handler (in process), same concurrency.
  const e2e = sections.find((s) => s.title === 'e2e')?.figures ?? [];
  for (const f of [...emmett]) {
    const m = /^emmett turnstile cmd\/s, (\d+) in flight$/.exec(f.name);
    const ours = m === null ? undefined : e2e.find((g) => g.name === `e2e turnstile cmd/s, ${m[1]} in flight`);
    if (m !== null && ours !== undefined && f.value > 0) {
      emmett.push(figure(`e2e turnstile vs emmett cmd/s, ${m[1]} in flight`, ours.value, 'cmd/s', f.name, ours.value / f.value));
    }
  }
  sections.push({ title: 'emmett', figures: emmett });
}
if (only.has('projector')) {
  log('— projector');
  const figures = await runProjectorBench({ events: args.quick ? 5_000 : 20_000, repeats: args.repeats, log });
  sections.push({ title: 'projector', figures: [...figures] });
}
if (only.has('process')) {
  log('— process managers (beside the projector, same history)');
  sections.push({
    title: 'process managers',
    figures: await runProcessBench({ events: args.quick ? 2_000 : 10_000, repeats: args.repeats, log }),
  });
}
if (only.has('memory')) {
  log('— memory (1,000,000 turnstiles per form; --quick: 100,000 and a projection)');
  sections.push({ title: 'memory', figures: await runMemoryBench({ quick: args.quick, log }) });
}
if (only.has('outbox-lag')) {
  log('— outbox lag');
  sections.push({ title: 'outbox lag', figures: await runOutboxLagBench({ seconds: args.quick ? 3 : 10, concurrency: 256, log }) });
}
if (only.has('timers')) {
  log('— durable timers (100,000 due within one minute on one worker; --quick: 10,000 within 10 s)');
  sections.push({
    title: 'timers',
    figures: await runTimersBench({ timers: args.quick ? 10_000 : 100_000, windowSeconds: args.quick ? 10 : 60, log }),
  });
}
if (only.has('crypto')) {
  log('— sensitive fields (sealed with AES-256-GCM) against the same events in clear: append and replay');
  sections.push({
    title: 'sensitive fields',
    figures: await runCryptoBench({ seconds: args.seconds, repeats: args.repeats, historyLength: args.quick ? 2_000 : 10_000, log }),
  });
}

console.log(
  `\nmedians of ${args.repeats} × ${args.seconds}s per figure${args.quick ? ' (--quick)' : ''}; ${((Date.now() - started) / 1000).toFixed(0)} s in all`,
);
for (const s of sections) reportAll(s.figures, `— ${s.title}`);
const all = sections.flatMap((s) => s.figures);
const emmettRatio = all.find((f) => f.name === 'e2e turnstile vs emmett cmd/s, 256 in flight');
const targets = [
  ...targetLines(all),
  ...(emmettRatio?.ratio == null
    ? []
    : [
        `target e2e ≥ 5 × Emmett's command handler at 256 in flight: ×${emmettRatio.ratio} — ${emmettRatio.ratio >= 5 ? 'met' : 'NOT met'}`,
      ]),
  ...outboxLagTargetLines(all),
  ...memoryTargetLines(all),
];
if (targets.length > 0) console.log('');
for (const line of targets) console.log(line);

/** ≥ 1,000,000 resident turnstiles in one worker within 4 GB RSS, for each form measured. */
function memoryTargetLines(figures: readonly Figure[]): string[] {
  return ['live actors', 'passivated'].flatMap((label) => {
    const rss = figures.find((f) => f.name === `${label} RSS`);
    const count = figures.find((f) => f.name === `resident ${label}` || f.name === `${label} entries`);
    if (rss === undefined || count === undefined) return [];
    const projected = figures.find((f) => f.name.startsWith(`${label} RSS at 1,000,000 (PROJECTED`));
    const value = count.value >= 1_000_000 ? rss.value : projected?.value;
    if (value === undefined) return [];
    const how = count.value >= 1_000_000 ? 'measured' : `projected from ${count.value}`;
    return [`target 1,000,000 ${label} within 4 GB RSS: ${Math.round(value)} MB (${how}) — ${value <= 4096 ? 'met' : 'NOT met'}`];
  });
}

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
const plot = fileURLToPath(new URL('./results/latency-throughput.svg', import.meta.url));
await writeFile(
  plot,
  latencyThroughputSvg(
    curvesFrom(all),
    `Ratchet bench ${new Date(started).toISOString().slice(0, 16)} · ${cpus().length} cores · medians of ${args.repeats} × ${args.seconds} s`,
  ),
);
log(`latency/throughput plot written to ${plot}`);
