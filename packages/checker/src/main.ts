// ratchet-check: verify a recorded history against the event store (and JetStream, read models).
// Exit codes: 0 no violation, 1 violations found, 2 bad usage or the check could not run.
import { parseArgs } from 'node:util';
import { checkHistory } from './check-history.js';
import { formatReport, hasViolations } from './format-report.js';
import { readHistory } from './history-record.js';
import { Turnstile } from '@ratchet/turnstile';
import { parseMasterKey } from '@ratchet/event-store-postgres';
import { turnstileReadModelCheck } from './turnstile-read-model-check.js';

const USAGE = `usage: ratchet-check --history <file.jsonl> --db <postgres-url> [--nats <url>] [--scope history|all]
                     [--read-model turnstile] [--aggregates turnstile] [--schema ratchet] [--max-details 100] [--json]`;

/** The command line's options; throws on an unknown option or a missing value. */
function parseOptions() {
  return parseArgs({
    options: {
      history: { type: 'string' },
      db: { type: 'string' },
      nats: { type: 'string' },
      scope: { type: 'string', default: 'history' },
      'read-model': { type: 'string' },
      aggregates: { type: 'string' },
      schema: { type: 'string', default: 'ratchet' },
      'max-details': { type: 'string', default: '100' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }).values;
}

async function main(): Promise<number> {
  let values: ReturnType<typeof parseOptions>;
  try {
    values = parseOptions();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const databaseUrl = values.db ?? process.env.DATABASE_URL;
  if (values.history === undefined || databaseUrl === undefined) {
    process.stderr.write(`--history and --db (or DATABASE_URL) are required\n${USAGE}\n`);
    return 2;
  }
  if (values.scope !== 'history' && values.scope !== 'all') {
    process.stderr.write(`--scope must be history or all\n`);
    return 2;
  }
  if (values['read-model'] !== undefined && values['read-model'] !== 'turnstile') {
    process.stderr.write(`--read-model knows only "turnstile"; pass other checks through the checkHistory API\n`);
    return 2;
  }
  if (values.aggregates !== undefined && values.aggregates !== 'turnstile') {
    process.stderr.write(`--aggregates knows only "turnstile"; pass other aggregates through the checkHistory API\n`);
    return 2;
  }
  const history = await readHistory(values.history);
  const report = await checkHistory({
    history,
    databaseUrl,
    ...(values.nats === undefined ? {} : { natsUrl: values.nats }),
    ...(values['read-model'] === 'turnstile' ? { readModel: turnstileReadModelCheck() } : {}),
    ...(values.aggregates === 'turnstile' ? { aggregates: [Turnstile] } : {}),
    scope: values.scope,
    schema: values.schema,
    maxDetails: Number(values['max-details']),
    ...(process.env.RATCHET_MASTER_KEY ? { masterKey: parseMasterKey(process.env.RATCHET_MASTER_KEY) } : {}),
  });
  process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : `${history.length} commands in the history\n${formatReport(report)}`);
  return hasViolations(report) ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`ratchet-check: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
