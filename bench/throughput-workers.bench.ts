/**
 * Commands/s with 1, 2 and 3 worker processes in membership mode (the same Postgres, the same
 * nats-server, the same 2 cores), and the CPU each command costs the workers: the workers' user +
 * system time from /proc/<pid>/stat over the measurement, divided by the commands answered. Also the
 * whole machine's busy share over the same window (/proc/stat), since everything shares the cores.
 * Closed loop: `--concurrency` lanes (default 96), each sends its next command when answered.
 * Run: node --conditions=source --import tsx bench/throughput-workers.bench.ts [--seconds 10]
 *      [--repeats 3] [--workers 1,2,3] [--concurrency 96] [--quick]
 * Starts a private nats-server; uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
 * to create and drop a scratch database per worker count. Prints figures; asserts nothing.
 */
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { connectClient, type RatchetClient } from '@ratchet/client';
import { startNatsServer, type NatsServerHandle } from '@ratchet/launchers';
import { Turnstile } from '@ratchet/turnstile';
import { TestCluster, waitSettled } from '../test/support/cluster-probes.js';
import { createScratchDatabase, type ScratchDatabase } from './scratch-database.js';
import { figure, median, parseBenchArgs, reportAll, stringArg, type Figure } from './stats.js';

const args = parseBenchArgs();
const seconds = stringArg('seconds') === undefined ? (args.quick ? 3 : 10) : args.seconds;
const counts = (stringArg('workers') ?? '1,2,3').split(',').map(Number);
const concurrency = Number(stringArg('concurrency') ?? 96);
const TURNSTILES = 2_000;
const CLOCK_TICKS = 100; // USER_HZ on Linux
const log = (line: string): void => console.error(line);

/** User + system CPU seconds of a process so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Busy and total jiffies of the whole machine. */
async function machineJiffies(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

interface Result {
  readonly rate: number;
  readonly cpuMsPerCommand: number;
  readonly workerCores: number;
  readonly machineBusy: number;
  readonly failures: number;
  /** Partition moves during the measurement (0 in a steady cluster). */
  readonly moved: number;
  /** The machine's 1-minute load average at the end (other users' work included). */
  readonly load: number;
}

async function measure(nats: NatsServerHandle, client: RatchetClient, workers: number): Promise<Result> {
  const db: ScratchDatabase = await createScratchDatabase(`tput${workers}`);
  // The default membership timings: throughput, not failover speed, is measured here, and with a
  // 1.5 s TTL a stalled membership poll on a busy machine expels a live worker mid-measurement.
  const cluster = new TestCluster(nats.url, db.url, { HEARTBEAT_INTERVAL_MS: '1000', MEMBER_TTL_MS: '5000', RELAY_LEASE_TTL_MS: '5000' });
  const ids = Array.from({ length: workers }, (_, i) => `n${workers}-w${i + 1}`);
  try {
    for (const id of ids) await cluster.start(id);
    await waitSettled(cluster, ids, 60_000);
    const prefix = `t${workers}`;
    // Warm-up: install every turnstile (also activates the actors), concurrency lanes at a time.
    for (let i = 0; i < TURNSTILES; i += concurrency) {
      await Promise.all(
        Array.from({ length: Math.min(concurrency, TURNSTILES - i) }, (_, j) =>
          client.send(Turnstile, `${prefix}-${i + j}`, { type: 'install', payload: {} }),
        ),
      );
    }
    const pids = ids.map((id) => cluster.process(id).pid);
    const moves = async () => (await Promise.all(ids.map((id) => cluster.stats(id)))).reduce((a, s) => a + (s.partitionMoves ?? 0), 0);
    const moves0 = await moves();
    const cpu0 = await Promise.all(pids.map(cpuSeconds));
    const m0 = await machineJiffies();
    const t0 = performance.now();
    const until = t0 + seconds * 1_000;
    let ok = 0;
    let failures = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async (_, lane) => {
        for (let step = 0; performance.now() < until; step += 1) {
          const id = `${prefix}-${(lane + step * concurrency) % TURNSTILES}`;
          const type = step % 2 === 0 ? 'insertCoin' : 'pushArm';
          const r = await client.send(Turnstile, id, { type, payload: {} } as never);
          if (r.status === 'ok') ok += 1;
          else failures += 1;
        }
      }),
    );
    const elapsed = (performance.now() - t0) / 1_000;
    const cpu1 = await Promise.all(pids.map(cpuSeconds));
    const m1 = await machineJiffies();
    const moved = (await moves()) - moves0;
    const workerCpu = cpu1.reduce((a, b) => a + b, 0) - cpu0.reduce((a, b) => a + b, 0);
    return {
      rate: ok / elapsed,
      cpuMsPerCommand: (workerCpu * 1_000) / Math.max(1, ok),
      workerCores: workerCpu / elapsed,
      machineBusy: (m1.busy - m0.busy) / Math.max(1, m1.total - m0.total),
      failures,
      moved,
      load: loadavg()[0] ?? 0,
    };
  } finally {
    await cluster.stopAll();
    await db.drop();
  }
}

let nats: NatsServerHandle | undefined;
let client: RatchetClient | undefined;
try {
  nats = await startNatsServer();
  client = await connectClient({ servers: nats.url, timeoutMs: 30_000 });
  // Rounds interleave the worker counts (1, 2, 3, 1, 2, 3, …) so drift in the machine's load hits
  // every count alike; each figure is the median over the rounds.
  const samples = new Map<number, Result[]>();
  for (let round = 1; round <= args.repeats; round += 1) {
    for (const n of counts) {
      log(`— round ${round}/${args.repeats}: ${n} worker(s), ${concurrency} in flight, ${seconds} s`);
      const r = await measure(nats, client, n);
      samples.set(n, [...(samples.get(n) ?? []), r]);
      log(
        `  ${r.rate.toFixed(0)} cmd/s, ${r.cpuMsPerCommand.toFixed(3)} worker CPU ms/cmd, workers ${r.workerCores.toFixed(2)} cores, machine ${(r.machineBusy * 100).toFixed(0)} % busy (load average ${r.load.toFixed(1)}), ${r.failures} not ok, ${r.moved} partition moves`,
      );
    }
  }
  const results = new Map<number, Result>();
  for (const [n, rs] of samples) {
    const m = (f: (r: Result) => number): number => median(rs.map(f));
    results.set(n, {
      rate: m((r) => r.rate),
      cpuMsPerCommand: m((r) => r.cpuMsPerCommand),
      workerCores: m((r) => r.workerCores),
      machineBusy: m((r) => r.machineBusy),
      failures: rs.reduce((a, r) => a + r.failures, 0),
      moved: rs.reduce((a, r) => a + r.moved, 0),
      load: m((r) => r.load),
    });
  }
  const first = counts[0]!;
  const base = `${first} worker(s): commands/s`;
  const baseCpu = `${first} worker(s): worker CPU per command`;
  const figures: Figure[] = [];
  for (const [n, r] of results) {
    const b = results.get(first)!;
    figures.push(figure(`${n} worker(s): commands/s`, r.rate, 'cmd/s', n === first ? null : base, n === first ? null : r.rate / b.rate));
    figures.push(
      figure(
        `${n} worker(s): worker CPU per command`,
        r.cpuMsPerCommand,
        'ms',
        n === first ? null : baseCpu,
        n === first ? null : r.cpuMsPerCommand / b.cpuMsPerCommand,
      ),
    );
    figures.push(figure(`${n} worker(s): worker CPU in use`, r.workerCores, 'cores'));
    figures.push(figure(`${n} worker(s): machine busy (all processes)`, r.machineBusy * 100, '%'));
    figures.push(figure(`${n} worker(s): commands not ok (all rounds)`, r.failures, 'commands'));
    figures.push(figure(`${n} worker(s): partition moves while measuring (all rounds)`, r.moved, 'moves'));
    figures.push(figure(`${n} worker(s): load average (1 min) at the end`, r.load, 'procs'));
  }
  console.log(
    `\n${concurrency} in flight, medians of ${args.repeats} interleaved rounds × ${seconds} s per worker count, ${TURNSTILES} turnstiles, membership mode, default worker config`,
  );
  reportAll(figures, '— throughput by worker count');
} finally {
  await client?.close().catch(() => undefined);
  await nats?.stop().catch(() => undefined);
}
