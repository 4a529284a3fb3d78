// The checker against doctored histories and stores: each test breaks one guarantee and expects
// exactly that category to count it. One database for the file, one store schema per test (so C9,
// which reads a whole store, sees only its own test), a private nats-server for C6.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createPostgresEventStore, type PostgresEventStore } from '@ratchet/event-store-postgres';
import { startNatsServer, type NatsServerHandle } from '@ratchet/launchers';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { ensureEventsStream, eventMessageId, eventSubject, partitionOf, streamIdOf } from '@ratchet/transport-nats';
import { Turnstile } from '@ratchet/turnstile';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_CATEGORIES, type CheckCategory, type CheckReport } from './check-category.js';
import { checkHistory, type CheckHistoryOptions } from './check-history.js';
import type { HistoryRecord } from './history-record.js';
import { HistoryRecorder } from './history-recorder.js';
import { turnstileReadModelCheck } from './turnstile-read-model-check.js';

let db: TestDatabase;
let pool: pg.Pool;
let natsServer: NatsServerHandle;
let nc: NatsConnection;
const stores: PostgresEventStore[] = [];

beforeAll(async () => {
  db = await createTestDatabase('checker');
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  natsServer = await startNatsServer();
  nc = await connect({ servers: natsServer.url });
  await ensureEventsStream(await jetstreamManager(nc));
});

afterAll(async () => {
  for (const s of stores) await s.close();
  await nc?.close();
  await natsServer?.stop();
  await pool?.end();
  await db?.drop();
});

/** A store in its own schema with a clean history: 3 turnstiles, fenced appends, every outcome kind. */
async function scenario(schema: string) {
  const store = createPostgresEventStore({ pool, schema });
  stores.push(store);
  await store.migrate();
  const ids = [0, 1, 2].map((i) => `${schema}-t${i}`);
  const epochs = new Map<number, number>();
  for (const id of ids) {
    const p = partitionOf(id, 64);
    if (!epochs.has(p)) epochs.set(p, await store.claimPartition(p, 'checker-test'));
  }
  const history: HistoryRecord[] = [];
  let clock = 1_000;
  let n = 0;
  const fenceOf = (id: string) => ({ partition: partitionOf(id, 64), epoch: epochs.get(partitionOf(id, 64)) as number });
  /** Run one command through the store the way a worker would, and record what the client was told. */
  const command = async (id: string, type: 'install' | 'insertCoin' | 'pushArm', recordAs?: Partial<HistoryRecord>) => {
    const commandId = `${schema}-c${(n += 1)}`;
    const invokedAt = (clock += 10);
    const streamId = streamIdOf('turnstile', id);
    const state = Turnstile.replay(await store.readStream(streamId));
    const decision = Turnstile.decide({ type, payload: {} } as never, state);
    const base = { commandId, aggregateType: 'turnstile', aggregateId: id, commandType: type, payload: {}, invokedAt };
    if (decision.status === 'rejected') {
      history.push({
        ...base,
        completedAt: (clock += 5),
        outcome: 'rejected',
        version: state.version,
        reason: decision.reason,
        ...recordAs,
      });
      return commandId;
    }
    const r = await store.append(streamId, state.version, decision.events, { commandId, fence: fenceOf(id) });
    history.push({ ...base, completedAt: (clock += 5), outcome: 'ok', version: r.version, events: r.events.length, ...recordAs });
    return commandId;
  };
  for (const id of ids) {
    await command(id, 'install');
    await command(id, 'insertCoin');
    await command(id, 'pushArm');
    await command(id, 'pushArm');
  }
  await command(`${schema}-none`, 'insertCoin'); // rejected: not installed
  history.push({
    commandId: `${schema}-bad`,
    aggregateType: 'turnstile',
    aggregateId: ids[0] as string,
    commandType: 'kick',
    invokedAt: (clock += 10),
    completedAt: (clock += 5),
    outcome: 'failed',
    code: 'UNKNOWN_COMMAND',
  });
  // A timed-out command that was in fact committed, and one that never was.
  await command(ids[1] as string, 'insertCoin', {
    outcome: 'unknown',
    code: 'TIMEOUT',
    version: undefined,
    events: undefined,
    completedAt: undefined,
  });
  history.push({
    commandId: `${schema}-lost`,
    aggregateType: 'turnstile',
    aggregateId: ids[2] as string,
    commandType: 'pushArm',
    invokedAt: (clock += 10),
    outcome: 'unknown',
    code: 'TIMEOUT',
  });
  return { store, schema, ids, history, epochs, fenceOf, command };
}

/** Write an event bypassing the store's checks (test databases allow INSERT), keeping the stream head in step. */
async function rawAppend(
  schema: string,
  streamId: string,
  version: number,
  type: string,
  commandId: string,
  fence?: { partition: number; epoch: number },
  moveHead = true,
) {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query(
      `INSERT INTO "${schema}".events (stream_id, version, type, data, metadata, epoch, partition)
       VALUES ($1, $2, $3, '{}', jsonb_build_object('commandId', $4::text), $5, $6)`,
      [streamId, version, type, commandId, fence?.epoch ?? null, fence?.partition ?? null],
    );
    if (moveHead) await c.query(`UPDATE "${schema}".streams SET version = $2 WHERE stream_id = $1`, [streamId, version]);
    await c.query('COMMIT');
  } finally {
    c.release();
  }
}

const check = (s: { schema: string; history: HistoryRecord[] }, extra: Partial<CheckHistoryOptions> = {}) =>
  checkHistory({ history: s.history, databaseUrl: db.url, schema: s.schema, ...extra });

/** Only `category` has violations (C6/C7 are skipped unless given). */
function expectOnly(report: CheckReport, category: CheckCategory | null): void {
  for (const c of CHECK_CATEGORIES) {
    if (c === category) expect(report.counts[c].violations, `${c}: ${JSON.stringify(report.violations)}`).toBeGreaterThan(0);
    else expect(report.counts[c].violations, `${c}: ${JSON.stringify(report.violations)}`).toBe(0);
  }
  expect(report.violations.every((v) => v.category === category)).toBe(true);
}

/** Publish the store's events to JetStream the way the relay does (Nats-Msg-Id = <streamId>:<version>). */
async function publishAll(store: PostgresEventStore, ids: readonly string[], skip?: string) {
  const js = jetstream(nc);
  for (const id of ids) {
    const streamId = streamIdOf('turnstile', id);
    for (const e of await store.readStream(streamId)) {
      const msgID = eventMessageId(streamId, e.version);
      if (msgID !== skip) await js.publish(eventSubject('turnstile', id), JSON.stringify(e), { msgID });
    }
  }
}

/** A read model table holding the fold of each turnstile, with `tamper` applied to one row. */
async function writeReadModel(store: PostgresEventStore, schema: string, ids: readonly string[], tamper?: string) {
  await pool.query(`CREATE TABLE "${schema}".turnstiles (id text PRIMARY KEY, state text, coins int, turns int, pushes int, version int)`);
  for (const id of ids) {
    const events = await store.readStream(streamIdOf('turnstile', id));
    const { snapshot } = Turnstile.replay(events);
    const c = snapshot.context;
    await pool.query(`INSERT INTO "${schema}".turnstiles VALUES ($1, $2, $3, $4, $5, $6)`, [
      id,
      String(snapshot.value),
      c.coins + (id === tamper ? 1 : 0),
      c.turns,
      c.pushes,
      events.length,
    ]);
  }
}

describe('checkHistory', () => {
  it('finds no violation in a clean history, with JetStream and a read model checked too', async () => {
    const s = await scenario('clean');
    await publishAll(s.store, s.ids);
    await writeReadModel(s.store, s.schema, s.ids);
    const report = await check(s, { natsUrl: natsServer.url, readModel: turnstileReadModelCheck({ relation: `"clean".turnstiles` }) });
    expectOnly(report, null);
    expect(report.counts).toMatchObject({
      C1: { checked: 3 },
      C2: { checked: 12 }, // the committed timed-out command is C4's
    });
    expect(report.counts.C3.checked).toBe(2);
    expect(report.counts.C4.checked).toBe(2);
    expect(report.counts.C5.checked).toBe(13);
    expect(report.counts.C6).toEqual({ checked: 13, violations: 0 });
    expect(report.counts.C7).toEqual({ checked: 3, violations: 0 });
    expect(report.counts.C8.checked).toBe(12);
    expect(report.counts.C9.checked).toBe(13);
    expect(report.counts.C10).toEqual({ checked: 1, violations: 0 }); // the rejection of an uninstalled turnstile
  });

  it('C1: a gap in a stream (and a head that does not match its last event)', async () => {
    const s = await scenario('c1');
    // Version 6 written with version 5 missing, by a command whose outcome the client never learnt.
    s.history.push({
      commandId: 'c1-gap',
      aggregateType: 'turnstile',
      aggregateId: s.ids[0] as string,
      commandType: 'pushArm',
      invokedAt: 9e9,
      outcome: 'unknown',
    });
    await rawAppend(
      'c1',
      streamIdOf('turnstile', s.ids[0] as string),
      6,
      'armPushedIneffectively',
      'c1-gap',
      s.fenceOf(s.ids[0] as string),
      false,
    );
    const report = await check(s);
    expectOnly(report, 'C1');
    expect(report.violations[0]?.detail).toMatch(/missing version\(s\) 5; head says version 4, last event is 6/);
  });

  it('C2: an acknowledged command missing from the store, and one told the wrong version', async () => {
    const s = await scenario('c2');
    const told = s.history.find((r) => r.outcome === 'ok' && r.aggregateId === s.ids[1] && r.version === 3) as HistoryRecord;
    s.history[s.history.indexOf(told)] = { ...told, version: 2, events: 1 };
    // Acknowledged at version 5 of t2, completed after everything else; the store never saw it.
    s.history.push({
      commandId: 'c2-lost-ack',
      aggregateType: 'turnstile',
      aggregateId: s.ids[2] as string,
      commandType: 'pushArm',
      invokedAt: 9e9,
      completedAt: 9e9 + 1,
      outcome: 'ok',
      version: 5,
      events: 1,
    });
    const report = await check(s);
    // The version-2 record collides with the real version-2 command in C8 order too; count C2 alone.
    expect(report.counts.C2.violations).toBe(2);
    for (const c of CHECK_CATEGORIES.filter((c) => c !== 'C2' && c !== 'C8')) expect(report.counts[c].violations, c).toBe(0);
  });

  it('C2: a command id written twice (two transactions) is caught', async () => {
    const s = await scenario('c2b');
    const first = s.history.find((r) => r.outcome === 'ok' && r.aggregateId === s.ids[0] && r.version === 4) as HistoryRecord;
    await rawAppend(
      'c2b',
      streamIdOf('turnstile', s.ids[0] as string),
      5,
      'armPushedIneffectively',
      first.commandId,
      s.fenceOf(s.ids[0] as string),
    );
    const report = await check(s);
    expectOnly(report, 'C2');
    expect(report.violations[0]?.detail).toMatch(/written more than once/);
  });

  it('C3: a failed and a rejected command that wrote events', async () => {
    const s = await scenario('c3');
    const okOnes = s.history.filter((r) => r.outcome === 'ok' && r.aggregateId === s.ids[2]);
    // The client was told "failed" / "rejected" for commands the store has in fact committed.
    s.history[s.history.indexOf(okOnes[3] as HistoryRecord)] = {
      ...(okOnes[3] as HistoryRecord),
      outcome: 'failed',
      code: 'VALIDATION_FAILED',
    };
    s.history[s.history.indexOf(okOnes[2] as HistoryRecord)] = { ...(okOnes[2] as HistoryRecord), outcome: 'rejected' };
    const report = await check(s);
    expectOnly(report, 'C3');
    expect(report.counts.C3.violations).toBe(2);
  });

  it('C4: a timed-out command applied twice', async () => {
    const s = await scenario('c4');
    const unknown = s.history.find((r) => r.outcome === 'unknown' && r.aggregateId === s.ids[1]) as HistoryRecord;
    const streamId = streamIdOf('turnstile', s.ids[1] as string);
    await rawAppend(
      'c4',
      streamId,
      (await s.store.streamVersion(streamId)) + 1,
      'coinInserted',
      unknown.commandId,
      s.fenceOf(s.ids[1] as string),
    );
    const report = await check(s);
    expectOnly(report, 'C4');
  });

  it('C5: an event from a command the history never sent', async () => {
    const s = await scenario('c5');
    const streamId = streamIdOf('turnstile', s.ids[1] as string);
    await s.store.append(streamId, await s.store.streamVersion(streamId), [{ type: 'coinInserted', data: {} }], { commandId: 'c5-ghost' });
    const report = await check(s);
    expectOnly(report, 'C5');
    expect(report.violations[0]?.detail).toMatch(/c5-ghost, which the history never sent/);
    // Scoped to the history, a stream nobody in the history wrote to is not C5's business; with scope 'all' it is.
    await s.store.append('turnstile/c5-elsewhere', 0, [{ type: 'installed', data: {} }], { commandId: 'c5-other-client' });
    expect((await check(s)).counts.C5.violations).toBe(1);
    expect((await check(s, { scope: 'all' })).counts.C5.violations).toBe(2);
  });

  it('C6: an event missing from JetStream', async () => {
    const s = await scenario('c6');
    const dropped = eventMessageId(streamIdOf('turnstile', s.ids[1] as string), 2);
    await publishAll(s.store, s.ids, dropped);
    const report = await check(s, { natsUrl: natsServer.url });
    expectOnly(report, 'C6');
    expect(report.counts.C6.violations).toBe(1);
    expect(report.violations[0]?.detail).toContain(dropped);
  });

  it('C7: a read model row that differs from the fold of its stream', async () => {
    const s = await scenario('c7');
    await writeReadModel(s.store, s.schema, s.ids, s.ids[2]);
    const report = await check(s, { readModel: turnstileReadModelCheck({ relation: `"c7".turnstiles` }) });
    expectOnly(report, 'C7');
    expect(report.counts.C7).toEqual({ checked: 3, violations: 1 });
  });

  it('C8: a command acknowledged before another was sent, with the higher version', async () => {
    const s = await scenario('c8');
    const [, v2, v3] = s.history.filter((r) => r.outcome === 'ok' && r.aggregateId === s.ids[0]) as HistoryRecord[];
    // The client saw version 3 acknowledged before it even sent the command that got version 2.
    s.history[s.history.indexOf(v3!)] = { ...v3!, invokedAt: 100, completedAt: 110 };
    s.history[s.history.indexOf(v2!)] = { ...v2!, invokedAt: 120, completedAt: 130 };
    const report = await check(s);
    expectOnly(report, 'C8');
  });

  it('C9: an event committed under a stale epoch, and one above the current epoch', async () => {
    const s = await scenario('c9');
    const id = s.ids[2] as string;
    const streamId = streamIdOf('turnstile', id);
    const old = s.fenceOf(id);
    const epoch = await s.store.claimPartition(old.partition, 'new-owner');
    await expect(s.command(id, 'insertCoin')).rejects.toThrow(/epoch/); // the old fence: FENCED, nothing written
    const fresh = { partition: old.partition, epoch };
    await s.store.append(streamId, 4, [{ type: 'coinInserted', data: {} }], { commandId: 'c9-new-owner', fence: fresh });
    s.history.push({
      commandId: 'c9-new-owner',
      aggregateType: 'turnstile',
      aggregateId: id,
      commandType: 'insertCoin',
      invokedAt: 9e9,
      completedAt: 9e9 + 1,
      outcome: 'ok',
      version: 5,
      events: 1,
    });
    // The stale owner's write that fencing should have refused, then one from an epoch never granted.
    s.history.push({
      commandId: 'c9-stale',
      aggregateType: 'turnstile',
      aggregateId: id,
      commandType: 'pushArm',
      invokedAt: 9e9 + 2,
      outcome: 'unknown',
    });
    s.history.push({
      commandId: 'c9-future',
      aggregateType: 'turnstile',
      aggregateId: id,
      commandType: 'pushArm',
      invokedAt: 9e9 + 3,
      outcome: 'unknown',
    });
    await rawAppend('c9', streamId, 6, 'armTurned', 'c9-stale', old);
    await rawAppend('c9', streamId, 7, 'armPushedIneffectively', 'c9-future', { partition: old.partition, epoch: epoch + 5 });
    const report = await check(s);
    expectOnly(report, 'C9');
    expect(report.counts.C9.violations).toBe(2);
  }, 120_000);
});

describe('C10: definite answers that wrote nothing', () => {
  it('flags a stale conflict and a stale rejection, not ones that were true at some moment of their window', async () => {
    const s = await scenario('c10');
    const [t0, t1, t2] = s.ids as [string, string, string];
    const acked = (id: string, version: number) =>
      s.history.find((r) => r.aggregateId === id && r.outcome === 'ok' && r.version === version)!;
    const base = (id: string, commandId: string, commandType: string) => ({
      commandId,
      aggregateType: 'turnstile',
      aggregateId: id,
      commandType,
      payload: {},
    });
    // Wrong: version 4 of t0 had been acknowledged before this was sent, yet it was told "at 3".
    s.history.push({
      ...base(t0, 'c10-stale-conflict', 'insertCoin'),
      invokedAt: 9e9,
      completedAt: 9e9 + 1,
      outcome: 'failed',
      code: 'VERSION_CONFLICT',
      expectedVersion: 4,
      actualVersion: 3,
    });
    // Wrong: t1 was installed (and acknowledged) long before; a stale "not installed" at version 0.
    s.history.push({
      ...base(t1, 'c10-stale-rejection', 'insertCoin'),
      invokedAt: 9e9,
      completedAt: 9e9 + 1,
      outcome: 'rejected',
      version: 0,
      reason: 'Turnstile not installed',
    });
    // Right: sent before version 4 of t0 was acknowledged, so "at 3" was true at some moment of its window.
    const v4 = acked(t0, 4);
    s.history.push({
      ...base(t0, 'c10-true-conflict', 'insertCoin'),
      invokedAt: v4.invokedAt - 1,
      completedAt: 9e9,
      outcome: 'failed',
      code: 'VERSION_CONFLICT',
      expectedVersion: 2,
      actualVersion: 3,
    });
    // Right version, wrong reason: only deciding again (with the aggregate) can tell.
    s.history.push({
      ...base(t2, 'c10-wrong-reason', 'install'),
      invokedAt: 9e9,
      completedAt: 9e9 + 1,
      outcome: 'rejected',
      version: 4,
      reason: 'Turnstile not installed',
    });

    const versionsOnly = await check(s);
    expectOnly(versionsOnly, 'C10');
    expect(versionsOnly.counts.C10).toEqual({ checked: 5, violations: 2 });
    expect(versionsOnly.violations.map((v) => v.detail)).toEqual([
      expect.stringMatching(
        /c10-stale-conflict was told VERSION_CONFLICT \(expected 4\) at version 3, but version 4 had been acknowledged before it was sent/,
      ),
      expect.stringMatching(
        /c10-stale-rejection was told rejected \("Turnstile not installed"\) at version 0, but version 1 had been acknowledged/,
      ),
    ]);

    const decided = await check(s, { aggregates: [Turnstile] });
    expectOnly(decided, 'C10');
    expect(decided.counts.C10).toEqual({ checked: 8, violations: 3 });
    expect(decided.violations.at(-1)?.detail).toMatch(
      /c10-wrong-reason was rejected at version 4 for "Turnstile not installed", but the stream at that version rejects it for "Turnstile already installed"/,
    );
  });

  it('flags a conflict whose actual version is the expected one', async () => {
    const s = await scenario('c10b');
    s.history.push({
      commandId: 'c10b-self',
      aggregateType: 'turnstile',
      aggregateId: s.ids[0]!,
      commandType: 'pushArm',
      invokedAt: 9e9,
      completedAt: 9e9 + 1,
      outcome: 'failed',
      code: 'VERSION_CONFLICT',
      expectedVersion: 4,
      actualVersion: 4,
    });
    const report = await check(s);
    expectOnly(report, 'C10');
    expect(report.violations[0]?.detail).toMatch(/actual version it names is the expected one \(4\)/);
  });
});

describe('HistoryRecorder and the CLI', () => {
  it('records a history that the CLI checks: exit 0 when clean, 1 with a violation', async () => {
    const s = await scenario('cli');
    const dir = await mkdtemp(join(tmpdir(), 'ratchet-checker-'));
    try {
      const path = join(dir, 'history.jsonl');
      const recorder = new HistoryRecorder({ path });
      for (const r of s.history) {
        const pending = recorder.invoked(r);
        if (r.outcome === 'ok') pending.completed({ status: 'ok', version: r.version!, events: new Array(r.events ?? 1) });
        else if (r.outcome === 'rejected') pending.completed({ status: 'rejected' });
        else if (r.outcome === 'failed') pending.completed({ status: 'error', error: { code: r.code!, retryable: false } });
        else if (r.completedAt !== undefined) pending.completed({ status: 'error', error: { code: 'TIMEOUT', retryable: true } });
      }
      await recorder.close(); // the never-completed command becomes 'unknown'
      expect(recorder.records.map((r) => r.outcome).sort()).toEqual(s.history.map((r) => r.outcome).sort());
      const run = (args: string[]) =>
        new Promise<{ code: number | null; out: string }>((resolve) => {
          const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'packages/checker/src/main.ts', ...args], {
            cwd: join(import.meta.dirname, '../../..'),
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let out = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.stderr.on('data', (d: Buffer) => (out += d.toString()));
          child.on('exit', (code) => resolve({ code, out }));
        });
      const clean = await run(['--history', path, '--db', db.url, '--schema', 'cli', '--aggregates', 'turnstile']);
      expect(clean.out).toMatch(/C2 .* 12 +0/);
      expect(clean.code).toBe(0);
      await s.store.append(streamIdOf('turnstile', s.ids[0] as string), 4, [{ type: 'coinInserted', data: {} }], {
        commandId: 'cli-ghost',
      });
      const dirty = await run(['--history', path, '--db', db.url, '--schema', 'cli']);
      expect(dirty.out).toMatch(/C5 .* 1\n/);
      expect(dirty.code).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
