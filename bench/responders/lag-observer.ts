/**
 * Outbox-lag observer: a core NATS subscriber on every event subject, in a process of its own so
 * the bench's client load does not delay its clock readings. For each event it keeps
 * `arrival − recordedAt` (ms; same machine, same clock). A request on `bench.lag.report` answers
 * `{ lags: number[] }` (everything seen since the last report) and starts afresh.
 * Env: NATS_URL. Logs `{"msg":"observer ready"}` on stdout once subscribed.
 */
import { connect } from '@nats-io/transport-node';
import { EVENT_SUBJECT_PREFIX } from '@ratchet/transport-nats';

const url = process.env.NATS_URL;
if (url === undefined) throw new Error('NATS_URL is required');
const nc = await connect({ servers: url, name: 'bench-lag-observer' });
let lags: number[] = [];
nc.subscribe(`${EVENT_SUBJECT_PREFIX}.>`, {
  callback: (_err, msg) => {
    const arrived = Date.now();
    const { recordedAt } = msg.json<{ recordedAt: string }>();
    lags.push(arrived - Date.parse(recordedAt));
  },
});
nc.subscribe('bench.lag.report', {
  callback: (_err, msg) => {
    msg.respond(JSON.stringify({ lags }));
    lags = [];
  },
});
await nc.flush();
console.log(JSON.stringify({ msg: 'observer ready', pid: process.pid }));

const stop = (): void => {
  void nc.close().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
