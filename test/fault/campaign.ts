// The long fault campaign: `npm run campaign -- --minutes N [--min-faults M] [--lanes L]
// [--mix default|long] [--until kind=n,…] [--max-minutes M] [--pause min,max]`. `--until` keeps injecting past N minutes until each
// count is reached (kinds as in the report, plus worker-kills = SIGKILLs + crash-point deaths), never
// past --max-minutes (default 2 × N). Prints progress and the counts; exits 1 when the checker finds
// a violation, 2 when the campaign itself could not run.
import { parseArgs } from 'node:util';
import { hasViolations } from '@ratchet/checker';
import { formatCampaignReport } from './campaign-report.js';
import { runCampaign } from './campaign-runner.js';
import { DEFAULT_WEIGHTS, FAULT_KINDS, LONG_WEIGHTS, type FaultKind } from './faults.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    'min-faults': { type: 'string', default: '0' },
    lanes: { type: 'string', default: '12' },
    mix: { type: 'string', default: 'default' },
    until: { type: 'string', default: '' },
    'max-minutes': { type: 'string' },
    pause: { type: 'string', default: '200,1000' },
  },
});
const minutes = Number(values.minutes);
const maxMinutes = values['max-minutes'] === undefined ? minutes * 2 : Number(values['max-minutes']);
if (!(minutes > 0) || !(maxMinutes >= minutes)) {
  console.error('--minutes must be a positive number and --max-minutes at least as large');
  process.exit(2);
}
if (values.mix !== 'default' && values.mix !== 'long') {
  console.error('--mix must be default or long');
  process.exit(2);
}
const pause = values.pause.split(',').map(Number);
if (pause.length !== 2 || !pause.every((n) => Number.isFinite(n) && n >= 0) || pause[0]! > pause[1]!) {
  console.error('--pause must be min,max milliseconds between faults, e.g. 200,1000');
  process.exit(2);
}
const targets: Partial<Record<FaultKind | 'worker-kills', number>> = {};
for (const part of values.until.split(',').filter((p) => p.trim() !== '')) {
  const [kind, n] = part.split('=').map((x) => x.trim());
  const known = kind === 'worker-kills' || (FAULT_KINDS as readonly string[]).includes(kind ?? '');
  if (!known || !(Number(n) >= 0)) {
    console.error(`--until: '${part}' is not kind=count (kinds: worker-kills, ${FAULT_KINDS.join(', ')})`);
    process.exit(2);
  }
  targets[kind as FaultKind | 'worker-kills'] = Number(n);
}

// Ctrl-C / SIGTERM: stop injecting and tear the private servers and services down before exiting.
const interrupt = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => interrupt.abort());

try {
  const report = await runCampaign({
    signal: interrupt.signal,
    durationMs: minutes * 60_000,
    maxDurationMs: Math.max(maxMinutes * 60_000, minutes * 60_000 + 120_000),
    weights: values.mix === 'long' ? LONG_WEIGHTS : DEFAULT_WEIGHTS,
    pauseMs: [pause[0]!, pause[1]!],
    targets,
    minFaults: Number(values['min-faults']),
    lanes: Number(values.lanes),
  });
  console.log(formatCampaignReport(report));
  process.exitCode = hasViolations(report.check) ? 1 : 0;
} catch (error) {
  console.error('campaign failed to run:', error);
  process.exitCode = 2;
}
