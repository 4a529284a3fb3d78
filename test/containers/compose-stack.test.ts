// The compose stack of deploy/, run for real: the Ratchet image built from this repository,
// Postgres with the roles of deploy/postgres, the 3-node NATS cluster with the users and permissions
// of deploy/nats, 3 workers, the projector and the dashboard, all on the host's network (127.0.0.1).
// Commands go through it while one NATS node (the events stream's leader) and one worker (the
// outbox relay's holder) are SIGKILLed; then the checker compares what clients were told, the
// store, JetStream and the read model. Needs Docker: `npm run test:deploy`.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { HistoryRecorder, checkHistory, formatReport, hasViolations, turnstileReadModelCheck } from '@ratchet/checker';
import { connectClient, type RatchetClient } from '@ratchet/client';
import { readProcessStates } from '@ratchet/process/runner';
import { EVENTS_STREAM, natsConnectOptions } from '@ratchet/transport-nats';
import turnstileApp from '@ratchet/turnstile-app';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLoad } from '../fault/load.js';
import { chooseStackImages, describeImages } from './container-images.js';
import { ComposeStack, NATS_NODES, WORKERS } from './compose-stack.js';
import { requireDocker } from './docker-cli.js';
import { waitUntil } from './wait-until.js';

const log = (line: string): void => console.log(`[compose] ${line}`);
const MEMBERS_BUCKET_STREAM = 'KV_ratchet_members';

let stack: ComposeStack | undefined;
let operator: NatsConnection | undefined;
let admin: pg.Pool | undefined;
let failed = false;

beforeAll(async () => {
  await requireDocker();
  const images = await chooseStackImages();
  log(`images: ${describeImages(images)}`);
  stack = await ComposeStack.create({ images, appImage: 'ratchet:compose-test', log });
  log(`project ${stack.project}, ports ${JSON.stringify(stack.ports)}`);
  try {
    const { buildMs, upMs } = await stack.up();
    log(`image built in ${(buildMs / 1000).toFixed(1)} s, services up in ${(upMs / 1000).toFixed(1)} s`);
  } catch (error) {
    failed = true;
    throw error;
  }
  admin = new pg.Pool({ connectionString: stack.adminDatabaseUrl, max: 2 });
  admin.on('error', () => undefined);
});

afterEach((context) => {
  if (context.task.result?.state === 'fail') failed = true;
});

afterAll(async () => {
  await operator?.close().catch(() => undefined);
  await admin?.end().catch(() => undefined);
  if (stack === undefined) return;
  if (failed) log(`every service's log: ${await stack.saveLogs()}`);
  await stack.down();
  log('stack removed (containers, network, volumes)');
}, 300_000);

async function status(url: string): Promise<number> {
  return fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
    (r) => r.status,
    () => 0,
  );
}

describe('deploy/compose on the host network', () => {
  it('starts every service: the workers and the projector answer /readyz, the dashboard its page', async () => {
    const s = stack!;
    const urls = [
      ...WORKERS.map((w) => `http://127.0.0.1:${s.ports.workers[w]}/readyz`),
      `http://127.0.0.1:${s.ports.projector}/readyz`,
      `http://127.0.0.1:${s.ports.dashboard}/`,
    ];
    await waitUntil(async () => (await Promise.all(urls.map(status))).every((c) => c === 200), {
      what: `200 from ${urls.join(', ')}`,
      timeoutMs: 120_000,
    });
    operator = await connect({ ...natsConnectOptions(s.natsUrl('operator', 'operator-dev')), name: 'compose-test' });
  });

  it('keeps the events stream and the membership bucket on all three NATS nodes (JETSTREAM_REPLICAS=3)', async () => {
    const jsm = await jetstreamManager(operator!);
    for (const name of [EVENTS_STREAM, MEMBERS_BUCKET_STREAM]) {
      const info = await jsm.streams.info(name);
      expect(info.config.num_replicas, name).toBe(3);
      const peers = [info.cluster?.leader, ...(info.cluster?.replicas ?? []).map((r) => r.name)].sort();
      expect(peers, name).toEqual([...NATS_NODES]);
    }
  });

  it('loses no acknowledged command and no event when the stream leader node and the relay worker are SIGKILLed under load', async () => {
    const s = stack!;
    const jsm = await jetstreamManager(operator!);
    const client: RatchetClient = await connectClient({ servers: s.natsUrl('client', 'client-dev'), timeoutMs: 8_000 });
    const recorder = new HistoryRecorder();
    const load = startLoad(client, recorder, { hot: 4, cold: 200, lanes: 8, hotShare: 0.5, timeoutMs: 8_000, prefix: 'c' });
    let leader: string | undefined;
    let holder: string | undefined;
    try {
      await waitUntil(async () => load.counts.ok >= 200, { what: '200 acknowledged commands', timeoutMs: 120_000 });

      leader = (await jsm.streams.info(EVENTS_STREAM)).cluster?.leader;
      expect(NATS_NODES as readonly (string | undefined)[]).toContain(leader);
      holder = (await admin!.query<{ holder: string }>(`SELECT holder FROM ratchet.leases WHERE name = 'outbox'`)).rows[0]?.holder;
      expect(WORKERS as readonly (string | undefined)[]).toContain(holder);
      const before = await admin!.query<{ n: string }>('SELECT count(*) AS n FROM ratchet.events');
      log(
        `SIGKILL ${leader!} (leader of ${EVENTS_STREAM}) and ${holder!} (holds the outbox relay) after ${load.counts.ok} ok commands, ${before.rows[0]!.n} events`,
      );
      await Promise.all([s.kill(leader!), s.kill(holder!)]);
      const okAtKill = load.counts.ok;

      // The cluster goes on: a new stream leader, the relay on another worker, commands acknowledged.
      await waitUntil(async () => load.counts.ok >= okAtKill + 300, {
        what: '300 more acknowledged commands after the kills',
        timeoutMs: 120_000,
      });
      // The operator's own connection may still be moving off the killed node, and the JetStream API
      // answers once the meta group has a leader again: asked until it names a leader.
      let newLeader: string | undefined;
      await waitUntil(
        async () => {
          newLeader = (await jsm.streams.info(EVENTS_STREAM)).cluster?.leader;
          return newLeader !== undefined;
        },
        { what: `a leader of ${EVENTS_STREAM} named by the JetStream API`, timeoutMs: 60_000 },
      );
      expect(newLeader).not.toBe(leader);
      log(
        `new leader ${String(newLeader)}; ${leader!} still running: ${String(await s.running(leader!))}, ${holder!}: ${String(await s.running(holder!))}`,
      );
    } finally {
      await load.stop();
      await client.close();
    }
    const codes: Record<string, number> = {};
    for (const r of recorder.records)
      if (r.outcome !== 'ok') codes[`${r.outcome} ${r.code ?? ''}`.trim()] = (codes[`${r.outcome} ${r.code ?? ''}`.trim()] ?? 0) + 1;
    log(`commands ${JSON.stringify(load.counts)}; not ok by code ${JSON.stringify(codes)}`);

    // Quiet: the relay has published the whole store, the projector has applied all of it.
    await waitUntil(
      async () => {
        const r = await admin!.query<{ lag: string }>(
          `SELECT coalesce((SELECT max(global_position) FROM ratchet.events), 0)
                - coalesce((SELECT global_position FROM ratchet.checkpoints WHERE name = 'outbox'), 0) AS lag`,
        );
        return Number(r.rows[0]!.lag) <= 0;
      },
      { what: 'outbox lag 0 (the relay resumed on another worker)', timeoutMs: 120_000 },
    );
    await waitUntil(
      async () => {
        const r = await admin!.query<{ applied: string | null; events: string }>(
          `SELECT (SELECT sum(last_version) FROM ratchet_projections.positions WHERE name = 'turnstile' AND version = 1) AS applied,
                  (SELECT count(*) FROM ratchet.events WHERE stream_id LIKE 'turnstile/%') AS events`,
        );
        return Number(r.rows[0]!.applied ?? 0) === Number(r.rows[0]!.events);
      },
      { what: 'the projector to apply every stored event', timeoutMs: 120_000 },
    );

    // The store is the truth. With the node still down, JetStream already holds exactly as many
    // messages as the store has events (no republish, and the relay dedupes by message id).
    // (The app's process manager and its stations' timers may still be writing: asked until the two
    // counts, taken together, agree.)
    let events = 0;
    await waitUntil(
      async () => {
        events = Number((await admin!.query<{ n: string }>('SELECT count(*) AS n FROM ratchet.events')).rows[0]!.n);
        return (await jsm.streams.info(EVENTS_STREAM)).state.messages === events;
      },
      { what: 'JetStream to hold exactly the events of the store', timeoutMs: 60_000 },
    );

    // Heal, as an operator would: the node and the worker come back and catch up. (The checker's
    // ordered consumer is an R1 consumer the cluster may place on a peer it does not yet know is
    // dead, on nats-server 2.9; with every peer back that cannot happen.)
    await Promise.all([s.start(leader!), s.start(holder!)]);
    await waitUntil(
      async () => (await Promise.all(WORKERS.map((w) => status(`http://127.0.0.1:${s.ports.workers[w]}/readyz`)))).every((c) => c === 200),
      {
        what: `every worker ready again (${holder!} restarted)`,
        timeoutMs: 120_000,
      },
    );
    await waitUntil(
      async () => {
        const cluster = (await jsm.streams.info(EVENTS_STREAM)).cluster;
        return (cluster?.replicas ?? []).length === 2 && cluster!.replicas!.every((r) => r.current && r.offline !== true);
      },
      { what: `${leader!} back as a current replica of ${EVENTS_STREAM}`, timeoutMs: 120_000 },
    );
    log(`${leader!} and ${holder!} restarted; ${leader!} is a current replica again`);
    // The app's process manager (technician dispatch, in the projector) sends commands of its own:
    // once it has handled every event, the checker accounts for them (C5) and checks them (C12).
    await waitUntil(
      async () => {
        const states = await readProcessStates(admin!);
        return states.length > 0 && states.every((p) => p.lagEvents === 0);
      },
      { what: 'the process managers to handle every stored event', timeoutMs: 120_000 },
    );
    const report = await checkHistory({
      history: recorder.records,
      databaseUrl: s.adminDatabaseUrl,
      natsUrl: s.natsUrl('operator', 'operator-dev'),
      readModel: turnstileReadModelCheck(),
      aggregates: turnstileApp.aggregates,
      processes: turnstileApp.processes,
      scope: 'all',
    });
    log(`checker:\n${formatReport(report)}`);
    expect(hasViolations(report), formatReport(report)).toBe(false);
    expect(report.counts.C6.checked).toBeGreaterThanOrEqual(events); // more once processes and timers wrote since
    expect(load.counts.ok).toBeGreaterThanOrEqual(500);
  });
});
