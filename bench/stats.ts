/**
 * Small helpers shared by the benchmarks: medians, percentiles, repeated measurements, report lines.
 * Benchmarks print figures; they never assert timings.
 */

/** One reported figure, printed as a table row and as one JSON line. */
export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** Name of the figure this one is compared with, null when it is a baseline or stands alone. */
  readonly baseline: string | null;
  /** value / baseline value, null without a baseline. */
  readonly ratio: number | null;
}

/** Median of a non-empty list (mean of the two middle values for an even length). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of an empty list');
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile (`p` in 0..100) of a non-empty list; pass `sorted` to skip the sort. */
export function percentile(xs: readonly number[], p: number, sorted = false): number {
  if (xs.length === 0) throw new RangeError('percentile of an empty list');
  const s = sorted ? xs : [...xs].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!;
}

/** Milliseconds elapsed since `start` (a `process.hrtime.bigint()` reading). */
export function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Latency summary of one measurement, in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
}

/** p50 and p99 of a list of latencies in ms. */
export function summarizeLatencies(latenciesMs: readonly number[]): LatencySummary {
  if (latenciesMs.length === 0) return { count: 0, p50: Number.NaN, p99: Number.NaN };
  const s = [...latenciesMs].sort((a, b) => a - b);
  return { count: s.length, p50: percentile(s, 50, true), p99: percentile(s, 99, true) };
}

/**
 * Run `measure` `repeats` times and return the median of each numeric field.
 * @example
 * const { rate } = await repeatMedian(3, async () => ({ rate: await measureRate() }));
 */
export async function repeatMedian<K extends string>(
  repeats: number,
  measure: (round: number) => Promise<Record<K, number>>,
): Promise<Record<K, number>> {
  const samples = new Map<K, number[]>();
  for (let r = 1; r <= repeats; r++) {
    const result = await measure(r);
    for (const [k, v] of Object.entries(result) as Array<[K, number]>) {
      const list = samples.get(k) ?? [];
      list.push(v);
      samples.set(k, list);
    }
  }
  return Object.fromEntries([...samples].map(([k, v]) => [k, median(v)])) as Record<K, number>;
}

/** Keep about three significant digits below 100 and whole numbers above, so reports do not pretend precision the machine does not have. */
export function round(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  return Number(value.toFixed(Math.min(digits, 3)));
}

/** Build a figure; `ratio` is computed from `baselineValue` when not given. */
export function figure(name: string, value: number, unit: string, baseline: string | null = null, ratio: number | null = null): Figure {
  return { name, value: round(value), unit, baseline, ratio: ratio === null ? null : round(ratio) };
}

function row(f: Figure): string {
  const value = String(f.value).padStart(10);
  const ratio = f.ratio === null ? '' : `  ×${f.ratio} vs ${f.baseline ?? '?'}`;
  return `${f.name.padEnd(58)} ${value} ${f.unit.padEnd(10)}${ratio}`;
}

/** Print one figure: a table row, then its JSON line `{"name","value","unit","baseline","ratio"}`, on stdout. */
export function report(name: string, value: number, unit: string, baseline: string | null = null, ratio: number | null = null): Figure {
  const f = figure(name, value, unit, baseline, ratio);
  console.log(row(f));
  console.log(JSON.stringify(f));
  return f;
}

/** Print many figures: the table first, then one JSON line per figure, on stdout. */
export function reportAll(figures: readonly Figure[], title?: string): void {
  if (title !== undefined) console.log(`\n${title}`);
  for (const f of figures) console.log(row(f));
  for (const f of figures) {
    console.log(JSON.stringify({ name: f.name, value: f.value, unit: f.unit, baseline: f.baseline, ratio: f.ratio }));
  }
}

/** Command-line options every benchmark takes: `--seconds N`, `--repeats N`, `--quick`. */
export interface BenchArgs {
  readonly seconds: number;
  readonly repeats: number;
  readonly quick: boolean;
}

/** Parse `--seconds N`, `--repeats N` and `--quick` (≈1 s per figure, 1 repetition); defaults 3 s × 3. */
export function parseBenchArgs(argv: readonly string[] = process.argv.slice(2)): BenchArgs {
  const quick = argv.includes('--quick');
  const num = (name: string): number | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i === -1) return undefined;
    const value = Number(argv[i + 1]);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
    return value;
  };
  return { quick, seconds: num('seconds') ?? (quick ? 1 : 3), repeats: num('repeats') ?? (quick ? 1 : 3) };
}

/** The value after `--name` in argv, if any. */
export function stringArg(name: string, argv: readonly string[] = process.argv.slice(2)): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? undefined : argv[i + 1];
}
