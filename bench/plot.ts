/**
 * Latency against throughput as an SVG (no dependencies): one line per path through its points at
 * 1, 16, 256… in flight, p50 solid and p99 dashed, both axes logarithmic. The series come from the
 * figures named `<path> cmd/s, <N> in flight`, `<path> p50, <N> in flight`, `<path> p99, <N> in flight`.
 */
import type { Figure } from './stats.js';

/** One point of a series: throughput and latencies at one concurrency. */
export interface CurvePoint {
  readonly inFlight: number;
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
}

/** Every path that has a throughput figure and both latencies at some concurrency, points by concurrency. */
export function curvesFrom(figures: readonly Figure[]): Map<string, CurvePoint[]> {
  const byName = new Map(figures.map((f) => [f.name, f.value]));
  const curves = new Map<string, CurvePoint[]>();
  for (const f of figures) {
    const m = /^(.*) cmd\/s, (\d+) in flight$/.exec(f.name);
    if (m === null) continue;
    const [, path, n] = m as unknown as [string, string, string];
    const p50 = byName.get(`${path} p50, ${n} in flight`);
    const p99 = byName.get(`${path} p99, ${n} in flight`);
    if (p50 === undefined || p99 === undefined || !(f.value > 0) || !(p50 > 0) || !(p99 > 0)) continue;
    curves.set(path, [...(curves.get(path) ?? []), { inFlight: Number(n), rate: f.value, p50, p99 }]);
  }
  for (const points of curves.values()) points.sort((a, b) => a.inFlight - b.inFlight);
  return curves;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf'];
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The SVG document; `title` goes on top (e.g. the date and machine). */
export function latencyThroughputSvg(curves: ReadonlyMap<string, readonly CurvePoint[]>, title: string): string {
  const W = 900;
  const H = 560;
  const left = 80;
  const right = 230;
  const top = 50;
  const bottom = 60;
  const points = [...curves.values()].flat();
  if (points.length === 0)
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="120"><text x="20" y="60">${esc(title)}: no latency/throughput figures</text></svg>\n`;
  const decade = (v: number, up: boolean): number => 10 ** (up ? Math.ceil(Math.log10(v)) : Math.floor(Math.log10(v)));
  const xMin = decade(Math.min(...points.map((p) => p.rate)), false);
  const xMax = decade(Math.max(...points.map((p) => p.rate)), true);
  const yMin = decade(Math.min(...points.map((p) => p.p50)), false);
  const yMax = decade(Math.max(...points.map((p) => p.p99)), true);
  const x = (v: number): number => left + ((Math.log10(v) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * (W - left - right);
  const y = (v: number): number =>
    H - bottom - ((Math.log10(v) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * (H - top - bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${left}" y="24" font-size="15">${esc(title)}</text>`,
  ];
  for (let v = xMin; v <= xMax * 1.0001; v *= 10) {
    out.push(
      `<line x1="${x(v)}" y1="${top}" x2="${x(v)}" y2="${H - bottom}" stroke="#ddd"/>`,
      `<text x="${x(v)}" y="${H - bottom + 18}" text-anchor="middle">${v >= 1000 ? `${v / 1000}k` : v}</text>`,
    );
  }
  for (let v = yMin; v <= yMax * 1.0001; v *= 10) {
    out.push(
      `<line x1="${left}" y1="${y(v)}" x2="${W - right}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${left - 8}" y="${y(v) + 4}" text-anchor="end">${v} ms</text>`,
    );
  }
  out.push(
    `<text x="${(left + W - right) / 2}" y="${H - 18}" text-anchor="middle">throughput (commands/s, log)</text>`,
    `<text x="18" y="${(top + H - bottom) / 2}" transform="rotate(-90 18 ${(top + H - bottom) / 2})" text-anchor="middle">latency (ms, log): p50 solid, p99 dashed</text>`,
  );
  [...curves.entries()].forEach(([path, pts], i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    for (const [key, dash] of [
      ['p50', ''],
      ['p99', ' stroke-dasharray="6 4"'],
    ] as const) {
      const d = pts.map((p, k) => `${k === 0 ? 'M' : 'L'}${x(p.rate).toFixed(1)},${y(p[key]).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`);
      for (const p of pts) {
        out.push(
          `<circle cx="${x(p.rate).toFixed(1)}" cy="${y(p[key]).toFixed(1)}" r="3" fill="${colour}"><title>${esc(path)} ${key} ${p[key]} ms at ${p.rate} cmd/s, ${p.inFlight} in flight</title></circle>`,
        );
      }
    }
    const last = pts.at(-1)!;
    out.push(`<text x="${x(last.rate) + 6}" y="${y(last.p50) + 4}" fill="${colour}" font-size="10">${last.inFlight}</text>`);
    const ly = top + 10 + i * 20;
    out.push(
      `<line x1="${W - right + 20}" y1="${ly}" x2="${W - right + 45}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${W - right + 52}" y="${ly + 4}">${esc(path)}</text>`,
    );
  });
  out.push(
    `<text x="${W - right + 20}" y="${top + 20 + curves.size * 20}" fill="#555" font-size="10">points at 1 / 16 / 256 in flight</text>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}
