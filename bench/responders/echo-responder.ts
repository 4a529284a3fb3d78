/**
 * Baseline responder: answers every request on `bench.echo.>` with its own payload. Run as a
 * separate process so it gets a core of its own, as the worker does.
 * Env: NATS_URL. Logs `{"msg":"responder ready"}` on stdout once subscribed.
 */
import { connect } from '@nats-io/transport-node';

const url = process.env.NATS_URL;
if (url === undefined) throw new Error('NATS_URL is required');
const nc = await connect({ servers: url, name: 'bench-echo-responder' });
nc.subscribe('bench.echo.>', {
  callback: (_err, msg) => {
    msg.respond(msg.data);
  },
});
await nc.flush();
console.log(JSON.stringify({ msg: 'responder ready', pid: process.pid }));

const stop = (): void => {
  void nc.close().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
