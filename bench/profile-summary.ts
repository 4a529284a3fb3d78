/**
 * Summarise a V8 .cpuprofile (from `node --cpu-prof`): the top functions by self time, and self
 * time per module (package or file), so "where does the time go" has a short answer.
 * Run: node --conditions=source --import tsx bench/profile-summary.ts <file.cpuprofile | dir> [--top 25]
 * Given a directory, it reads the largest .cpuprofile in it (the main thread's; tsx's loader thread writes a small one too).
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { stringArg } from './stats.js';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** Self time per function and per module, in ms, highest first. */
export function summarizeProfile(profile: CpuProfile): {
  totalMs: number;
  functions: Array<{ name: string; where: string; ms: number }>;
  modules: Array<{ module: string; ms: number }>;
} {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const functions = new Map<string, { name: string; where: string; ms: number }>();
  const modules = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    const name = frame.functionName || (frame.url === '' ? `(${frame.functionName || 'native'})` : '(anonymous)');
    const where = frame.url === '' ? '' : `${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
    const key = `${name}@${where}`;
    const f = functions.get(key) ?? { name, where, ms: 0 };
    f.ms += us / 1000;
    functions.set(key, f);
    const m = moduleOf(frame);
    modules.set(m, (modules.get(m) ?? 0) + us / 1000);
  }
  return {
    totalMs: (profile.endTime - profile.startTime) / 1000,
    functions: [...functions.values()].sort((a, b) => b.ms - a.ms),
    modules: [...modules].map(([module, ms]) => ({ module, ms })).sort((a, b) => b.ms - a.ms),
  };
}

function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm !== -1) return path.slice(nm + 'node_modules/'.length);
  const repo = path.search(/\/(packages|services|bench)\//);
  return repo === -1 ? path : path.slice(repo + 1);
}

/** The package (node_modules/<pkg>, packages/<x>) or node internal a frame belongs to. */
function moduleOf(frame: CallFrame): string {
  if (frame.url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  const path = frame.url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const repo = /\/((?:packages|services)\/[^/]+)\//.exec(path);
  if (repo !== null) return repo[1]!;
  if (path.startsWith('node:')) return 'node: internals';
  return path;
}

async function resolveProfile(target: string): Promise<string> {
  if (!(await stat(target)).isDirectory()) return target;
  const files = (await readdir(target)).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`no .cpuprofile in ${target}`);
  const withTimes = await Promise.all(files.map(async (f) => ({ f, t: (await stat(join(target, f))).size })));
  withTimes.sort((a, b) => b.t - a.t);
  return join(target, withTimes[0]!.f);
}

const target = process.argv.slice(2).find((a) => !a.startsWith('--') && a !== stringArg('top'));
if (target === undefined) {
  console.error('usage: bench/profile-summary.ts <file.cpuprofile | dir> [--top 25]');
  process.exit(2);
}
const file = await resolveProfile(target);
const top = Number(stringArg('top') ?? 25);
const summary = summarizeProfile(JSON.parse(await readFile(file, 'utf8')) as CpuProfile);
const sampled = summary.functions.reduce((n, f) => n + f.ms, 0);
const pct = (ms: number): string => `${((100 * ms) / sampled).toFixed(1).padStart(5)}%`;
console.log(`${file}: ${(summary.totalMs / 1000).toFixed(1)} s profiled, ${(sampled / 1000).toFixed(1)} s sampled`);
console.log(`\ntop ${top} functions by self time`);
for (const f of summary.functions.slice(0, top)) {
  console.log(`${f.ms.toFixed(0).padStart(8)} ms ${pct(f.ms)}  ${f.name.padEnd(36)} ${f.where}`);
}
console.log('\nself time by module');
for (const m of summary.modules.slice(0, 15)) console.log(`${m.ms.toFixed(0).padStart(8)} ms ${pct(m.ms)}  ${m.module}`);
