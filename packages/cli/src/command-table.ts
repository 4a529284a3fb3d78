import type { CommandSpec } from './command-spec.js';

/** Every command, in the order help lists them; implementations load on use. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    words: ['send'],
    args: '<aggregate> <id> <command> [payload-json]',
    summary: 'send a command and print the reply (ok, rejected or error)',
    options: { 'command-id': { type: 'string' }, 'expected-version': { type: 'string' } },
    help: [
      '  <aggregate>             an aggregate type the workers serve, e.g. turnstile',
      '  <id>                    the aggregate id (docs/protocol.md section 4), e.g. t-1',
      '  <command>               one of its commands, e.g. install',
      '  [payload-json]          the command payload as JSON (default {})',
      '  --command-id X          the idempotency key (default a new UUID); reuse it to learn the outcome of a TIMEOUT',
      '  --expected-version N    fail with VERSION_CONFLICT unless the stream is at version N',
      '',
      'With an app known (--app, $RATCHET_APP, or the running ratchet dev), the aggregate, the command and the',
      'payload are checked against it first: a payload its zod schema refuses is VALIDATION_FAILED with every',
      'issue, exit 2, and nothing is sent. Without one, the command goes as typed and the worker checks it.',
      '',
      'exit 0 ok, 1 rejected or an error reply, 2 refused before sending. Example: ratchet send turnstile t-1 install',
    ],
    load: async () => (await import('./commands/send.js')).runSend,
  },
  {
    words: ['history'],
    args: '<aggregate> <id> [--version N | --at <time>]',
    summary: "print a stream's events: version, type, data, recorded at; with --version/--at, the state after each",
    options: { version: { type: 'string' }, at: { type: 'string' } },
    help: [
      '  --version N     time travel: the events up to version N, each with the state after it, then the state there',
      '  --at <time>     the same as of an ISO 8601 time (by recorded at, to the millisecond), e.g. 2026-11-01T12:00:00Z',
      '',
      'Reads Postgres (--db); with an app known, an aggregate type it lacks is refused; --version and --at need the',
      'app (they fold its statechart). Outside the stream: OUT_OF_RANGE, exit 1. Sensitive values are opened with',
      "$RATCHET_MASTER_KEY (the workers' key), or show their placeholder once forgotten.",
      'Example: ratchet history turnstile t-1 --version 3',
    ],
    load: async () => (await import('./commands/history.js')).runHistory,
  },
  {
    words: ['forget'],
    args: '<subject>',
    summary: "crypto-shredding: delete a data subject's key, so its sensitive values read as their placeholder",
    help: [
      "Deletes the subject's key and records the forget (docs/sensitive-data.md). Read models keep what they copied until",
      'rebuilt. Needs --db as a role allowed to run ratchet.forget_subject. Example: ratchet forget 2f0c…-author-id',
    ],
    load: async () => (await import('./commands/forget.js')).runForget,
  },
  {
    words: ['status'],
    args: '',
    summary: 'workers, partitions (owner, epoch), outbox lag, projection lag, parked events',
    help: ['Read-only: members from NATS KV, owners and epochs from Postgres; needs --nats and --db.'],
    load: async () => (await import('./commands/status.js')).runStatus,
  },
  {
    words: ['projections', 'list'],
    args: '',
    summary: 'projection versions: building/following, active, applied, lag, parked',
    load: async () => (await import('./commands/projections.js')).runProjectionsList,
  },
  {
    words: ['projections', 'rebuild'],
    args: '<name> --version N',
    summary: 'build a projection version from the event store with progress (--switch, --watch)',
    help: [
      '  --version N    the projection version to build',
      '  --switch       make it the version readers see once it follows',
      '  --watch        build nothing; show the progress of a build a projector service runs',
    ],
    options: { version: { type: 'string' }, switch: { type: 'boolean' }, watch: { type: 'boolean' } },
    load: async () => (await import('./commands/projections.js')).runProjectionsRebuild,
  },
  {
    words: ['projections', 'parked'],
    args: '[name]',
    summary: 'parked events: projection, stream, version, type, attempts, error',
    load: async () => (await import('./commands/projections.js')).runProjectionsParked,
  },
  {
    words: ['projections', 'retry'],
    args: '<name> [stream]',
    summary: 'retry parked events of a projection (all its streams, or one)',
    load: async () => (await import('./commands/projections.js')).runProjectionsRetry,
  },
  {
    words: ['dev'],
    args: '[app] [flags…]',
    summary: 'run an app locally: servers, workers, projector, gateway, dashboard, its web server (ratchet dev --help)',
    passThrough: true,
    load: async () => (await import('./commands/dev.js')).runDev,
  },
  {
    words: ['demo'],
    args: '[flags…]',
    summary: 'the turnstile demo with its riders: ratchet dev with no app (npm run demo)',
    passThrough: true,
    load: async () => (await import('./commands/dev.js')).runDev,
  },
  {
    words: ['worker'],
    args: '[app]',
    summary: "run a worker for the app's aggregates in the foreground (env as services/worker takes it)",
    help: serveHelp('worker', 'NATS and Postgres (--nats, --db or NATS_URL, DATABASE_URL)'),
    load: async () => (await import('./commands/serve.js')).serve('worker'),
  },
  {
    words: ['projector'],
    args: '[app]',
    summary: "run a projector for the app's projections and processes in the foreground",
    help: serveHelp('projector', 'NATS and Postgres (--nats, --db or NATS_URL, DATABASE_URL)'),
    load: async () => (await import('./commands/serve.js')).serve('projector'),
  },
  {
    words: ['gateway'],
    args: '[app]',
    summary: "run the HTTP command gateway for the app's aggregates in the foreground",
    help: serveHelp('gateway', 'NATS (--nats or NATS_URL); Postgres only for ?waitFor= (--db or DATABASE_URL); HTTP_PORT (8082)'),
    load: async () => (await import('./commands/serve.js')).serve('gateway'),
  },
];

/** The help lines of `ratchet worker|projector|gateway`. */
function serveHelp(service: string, needs: string): string[] {
  return [
    '  [app]    an app module (dist/app.js, src/app.ts) or a project directory; default --app, $RATCHET_APP,',
    "           the running ratchet dev's app, else the turnstile app",
    '',
    `This process becomes the ${service} service: its logs (JSON) on stdout, /healthz /readyz /metrics on HTTP_PORT,`,
    `drained on SIGTERM or Ctrl-C. Needs ${needs}; every other variable as docs/operations.md lists it.`,
    `Example: DATABASE_URL=postgres://… ratchet ${service} dist/app.js`,
  ];
}
