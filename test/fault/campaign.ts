// The long fault campaign: `npm run campaign -- --minutes N [--min-faults M] [--lanes L]`.
// Prints progress and the counts; exits 1 when the checker finds a violation, 2 when the
// campaign itself could not run.
import { parseArgs } from 'node:util';
import { hasViolations } from '@ratchet/checker';
import { formatCampaignReport } from './campaign-report.js';
import { runCampaign } from './campaign-runner.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    'min-faults': { type: 'string', default: '0' },
    lanes: { type: 'string', default: '12' },
  },
});
const minutes = Number(values.minutes);
if (!(minutes > 0)) {
  console.error('--minutes must be a positive number');
  process.exit(2);
}

try {
  const report = await runCampaign({
    durationMs: minutes * 60_000,
    maxDurationMs: minutes * 60_000 + 120_000,
    minFaults: Number(values['min-faults']),
    lanes: Number(values.lanes),
  });
  console.log(formatCampaignReport(report));
  process.exitCode = hasViolations(report.check) ? 1 : 0;
} catch (error) {
  console.error('campaign failed to run:', error);
  process.exitCode = 2;
}
