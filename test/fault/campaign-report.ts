// The campaign's printed summary: faults per kind, crash points hit, command outcomes, then the
// checker's table (C1…C12).
import { formatReport } from '@ratchet/checker';
import type { CampaignReport } from './campaign-runner.js';

/** The report as plain-text tables. */
export function formatCampaignReport(r: CampaignReport): string {
  const rows = (obj: Record<string, number>): string =>
    Object.entries(obj)
      .map(([k, v]) => `  ${k.padEnd(34)}${String(v).padStart(8)}`)
      .join('\n');
  return [
    `fault phase ${(r.faultPhaseMs / 1000).toFixed(0)} s, total ${(r.totalMs / 1000).toFixed(0)} s; history: ${r.historyPath}`,
    `faults (${r.totalFaults}):`,
    rows(r.faults),
    'crash points hit (SIGKILL after the "crash point … reached" line):',
    rows({ ...r.crashHits, ...r.processes.processCrashHits }),
    'processes:',
    rows({
      'worker starts': r.processes.workerStarts,
      'worker start failures (retried)': r.processes.workerStartFailures,
      'armed workers that died otherwise': r.processes.crashMisses,
      'projector starts': r.processes.projectorStarts,
    }),
    'commands:',
    rows({ ...r.commands, 'events in the store': r.storeEvents, 'republished to JetStream': r.republished }),
    `anomalies (runtime defects outside the checker): ${r.anomalies.length === 0 ? 'none' : ''}`,
    ...r.anomalies.map((a) => `  ${a}`),
    `harness errors (injections that failed, skipped): ${r.harnessErrors.length === 0 ? 'none' : ''}`,
    ...r.harnessErrors.map((a) => `  ${a}`),
    'checker:',
    formatReport(r.check),
  ].join('\n');
}
