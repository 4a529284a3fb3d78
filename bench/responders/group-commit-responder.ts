/**
 * Baseline responder: the bare request → group-commit insert → reply path. Requests on `bench.gc.>`
 * queue up; whenever no batch is in flight, everything queued (up to GC_MAX_BATCH) goes into one
 * multi-row INSERT (one transaction), and each request is answered after the commit. No actors,
 * no machine, no dedupe, no fencing: what Postgres and NATS alone allow on this machine.
 * Env: NATS_URL, DATABASE_URL, GC_MAX_BATCH (default 256), GC_CONCURRENCY (batches in flight, default 1).
 * Logs `{"msg":"responder ready"}` on stdout once subscribed.
 */
import { connect, type Msg } from '@nats-io/transport-node';
import pg from 'pg';

const natsUrl = process.env.NATS_URL;
const databaseUrl = process.env.DATABASE_URL;
if (natsUrl === undefined || databaseUrl === undefined) throw new Error('NATS_URL and DATABASE_URL are required');
const maxBatch = Number(process.env.GC_MAX_BATCH ?? 256);
const maxConcurrent = Number(process.env.GC_CONCURRENCY ?? 1);

const pool = new pg.Pool({ connectionString: databaseUrl, max: maxConcurrent });
pool.on('error', () => undefined);
await pool.query(
  'CREATE TABLE IF NOT EXISTS bench_commands (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, stream_id text NOT NULL, command_id text NOT NULL, data jsonb NOT NULL)',
);

interface Request {
  readonly msg: Msg;
  readonly streamId: string;
  readonly commandId: string;
  readonly data: string;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();
let queue: Request[] = [];
let inFlight = 0;
let scheduled = false;

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  // Gather what arrives in this event-loop turn, like the worker's GroupCommitter with window 0.
  setImmediate(() => {
    scheduled = false;
    flush();
  });
}

function flush(): void {
  while (queue.length > 0 && inFlight < maxConcurrent) {
    const batch = queue.slice(0, maxBatch);
    queue = queue.slice(batch.length);
    inFlight += 1;
    void commit(batch);
  }
}

async function commit(batch: Request[]): Promise<void> {
  const values: string[] = [];
  const params: string[] = [];
  batch.forEach((r, i) => {
    values.push(`($${i * 3 + 1}, $${i * 3 + 2}, $${i * 3 + 3})`);
    params.push(r.streamId, r.commandId, r.data);
  });
  try {
    const result = await pool.query<{ id: string }>(
      `INSERT INTO bench_commands (stream_id, command_id, data) VALUES ${values.join(', ')} RETURNING id`,
      params,
    );
    batch.forEach((r, i) => {
      const reply = {
        status: 'ok',
        version: Number(result.rows[i]?.id ?? 0),
        events: [{ version: 1, type: 'coinInserted', schemaVersion: 1, data: {} }],
        duplicate: false,
      };
      r.msg.respond(encoder.encode(JSON.stringify(reply)));
    });
  } catch (error) {
    const reply = encoder.encode(JSON.stringify({ status: 'error', error: { code: 'STORE_UNAVAILABLE', message: String(error) } }));
    for (const r of batch) r.msg.respond(reply);
  }
  inFlight -= 1;
  if (queue.length > 0) flush();
}

const nc = await connect({ servers: natsUrl, name: 'bench-group-commit-responder' });
nc.subscribe('bench.gc.>', {
  callback: (_err, msg) => {
    const body = JSON.parse(decoder.decode(msg.data)) as { id: string; commandId: string; command: unknown };
    queue.push({ msg, streamId: body.id, commandId: body.commandId, data: JSON.stringify(body.command) });
    if (queue.length >= maxBatch && inFlight < maxConcurrent) flush();
    else schedule();
  },
});
await nc.flush();
console.log(JSON.stringify({ msg: 'responder ready', pid: process.pid }));

const stop = (): void => {
  void nc
    .close()
    .then(() => pool.end())
    .finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
