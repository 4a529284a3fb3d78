import { CHECK_CATEGORIES, CheckCategory, type CheckReport } from './check-category.js';

/** The report as a plain-text table (one row per category), then the violation details. */
export function formatReport(report: CheckReport): string {
  const rows = CHECK_CATEGORIES.map((c) => {
    const n = report.counts[c];
    return [c, CheckCategory[c], n.skipped ? '-' : String(n.checked), n.skipped ? 'skipped' : String(n.violations)];
  });
  const head = ['', 'guarantee', 'checked', 'violations'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i >= 2 ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  const out = [line(head), ...rows.map(line)];
  if (report.violations.length > 0) {
    out.push('', 'violations:');
    for (const v of report.violations) out.push(`  ${v.category}  ${v.detail}`);
  }
  return `${out.join('\n')}\n`;
}

/** Whether any category has a violation. */
export function hasViolations(report: CheckReport): boolean {
  return CHECK_CATEGORIES.some((c) => report.counts[c].violations > 0);
}
