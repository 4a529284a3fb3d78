// The CI smoke campaign: about two minutes of mixed faults (≥ 50, every worker and process crash point hit)
// against real processes, then the history checker must find no violation in any category.
import { CHECK_CATEGORIES } from '@ratchet/checker';
import { expect, it } from 'vitest';
import { formatCampaignReport } from './campaign-report.js';
import { runCampaign } from './campaign-runner.js';
import { WORKER_CRASH_POINTS } from './fault-cluster.js';
import { FAULT_KINDS } from './faults.js';
import { PROCESS_CRASH_POINTS } from './process-faults.js';

it('smoke campaign: ≥ 50 mixed faults, every crash point hit, 0 violations', async () => {
  const report = await runCampaign({ durationMs: 90_000, maxDurationMs: 200_000, minFaults: 50, everyKind: true, progressEveryMs: 30_000 });
  console.log(formatCampaignReport(report));
  expect(report.totalFaults).toBeGreaterThanOrEqual(50);
  // Mixed: every kind happened at least once.
  expect(FAULT_KINDS.filter((k) => report.faults[k] === 0)).toEqual([]);
  expect(WORKER_CRASH_POINTS.filter((p) => report.crashHits[p] === 0)).toEqual([]);
  expect(PROCESS_CRASH_POINTS.filter((p) => report.processes.processCrashHits[p] === 0)).toEqual([]);
  expect(report.commands.ok).toBeGreaterThan(100);
  expect(report.check.violations).toEqual([]);
  // Defects the checker cannot see, e.g. a projector whose runner stopped while the process stayed up.
  expect(report.anomalies).toEqual([]);
  // Every category ran (none skipped) and looked at something.
  for (const c of CHECK_CATEGORIES) expect(report.check.counts[c].skipped ?? false, c).toBe(false);
  expect(report.check.counts.C2.checked).toBe(report.commands.ok);
  // Definite answers that wrote nothing (conflicts, rejections) were checked against the history.
  expect(report.check.counts.C10.checked).toBeGreaterThan(0);
  // The technician dispatch's commands and progress were checked (commands, streams, replayed events).
  expect(report.check.counts.C12.checked).toBeGreaterThan(100);
}, 420_000);
