import { createPostgresEventStore } from '@ratchet/event-store-postgres';
import { createProjector, PROJECTIONS_SCHEMA, type Projection, type Projector } from '@ratchet/projector';
import type pg from 'pg';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import { CliError, usageError } from '../cli-error.js';
import type { CliContext } from '../cli-context.js';
import type { CommandFlags } from '../command-spec.js';
import { connectNats, openPostgres, requireEventStore } from '../connections.js';
import { ExitCode } from '../exit-code.js';
import { formatTable } from '../format-table.js';
import { ProgressBar, type Progress } from '../progress-bar.js';
import { readParked, readProjectionStates } from '../projection-state.js';
import { requireCliApp } from '../cli-app.js';
import { projectionNamed, requireProjectionName } from '../projection-registry.js';
import { projectionTable } from './status.js';

const S = `"${PROJECTIONS_SCHEMA}"`;

/** `ratchet projections list`: every version with its phase, lag and parked events. */
export async function runProjectionsList(ctx: CliContext, positionals: readonly string[]): Promise<number> {
  if (positionals.length > 0) throw usageError('usage: ratchet projections list');
  const pool = await openPostgres(ctx.options);
  try {
    const nc = await connectNats(ctx.options);
    try {
      const states = await readProjectionStates(pool, nc);
      if (ctx.options.json) ctx.out(JSON.stringify(states));
      else if (states.length === 0) ctx.out('no projections (no projector has run against this database)');
      else ctx.out(projectionTable(states));
      return ExitCode.OK;
    } finally {
      await nc.close().catch(() => undefined);
    }
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/** `ratchet projections parked [name]`: parked (poison) events, oldest first. */
export async function runProjectionsParked(ctx: CliContext, positionals: readonly string[]): Promise<number> {
  const [name, ...extra] = positionals;
  if (extra.length > 0) throw usageError('usage: ratchet projections parked [name]');
  const pool = await openPostgres(ctx.options);
  try {
    const rows = await readParked(pool, name);
    if (ctx.options.json) ctx.out(JSON.stringify(rows));
    else if (rows.length === 0) ctx.out('no parked events');
    else {
      ctx.out(
        formatTable(
          ['PROJECTION', 'STREAM', 'VERSION', 'TYPE', 'ATTEMPTS', 'PARKED AT', 'ERROR'],
          rows.map((r) => [
            `${r.projection}@v${r.projectionVersion}`,
            r.streamId,
            String(r.version),
            r.type,
            String(r.attempts),
            r.parkedAt,
            r.error,
          ]),
        ),
      );
    }
    return ExitCode.OK;
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/**
 * `ratchet projections retry <name> [stream]`: after a fix is deployed, re-apply parked streams
 * from their parked event on. Runs the projection's following versions in this process for the
 * duration (the projector's retry works on a started projector) and stops them after.
 */
export async function runProjectionsRetry(ctx: CliContext, positionals: readonly string[]): Promise<number> {
  const [name, streamId, ...extra] = positionals;
  if (name === undefined || extra.length > 0) throw usageError(`usage: ratchet projections retry <name> [stream]`);
  const app = await requireCliApp(ctx, 'ratchet projections retry');
  requireProjectionName(app, name);
  const pool = await openPostgres(ctx.options, 8);
  try {
    await requireEventStore(pool, ctx.options);
    const parked = (await readParked(pool, name)).filter((r) => streamId === undefined || r.streamId === streamId);
    const versions = [...new Set(parked.map((r) => r.projectionVersion))];
    if (versions.length === 0) {
      if (ctx.options.json) ctx.out(JSON.stringify({ released: [], stillParked: [] }));
      else ctx.out(streamId === undefined ? `no parked events in ${name}` : `${streamId} has no parked event in ${name}`);
      return ExitCode.OK;
    }
    const building = await versionsWithStatus(pool, name, 'building');
    const blocked = versions.filter((v) => building.includes(v));
    if (blocked.length > 0) {
      throw usageError(`${name}@v${blocked.join(',v')} is still building; retry its parked events once it follows (see projections list)`);
    }
    const nc = await connectNats(ctx.options);
    const projector = createProjector({
      nats: nc,
      store: createPostgresEventStore({ pool }),
      pool,
      projections: versions.map((v) => projectionNamed(app, name, v)),
      autoSwitch: false,
      logger: errorLogger(),
    });
    try {
      await projector.start();
      const report = await projector.retryParked(name, streamId);
      if (ctx.options.json) ctx.out(JSON.stringify(report));
      else {
        ctx.out(`released: ${report.released.length === 0 ? '-' : report.released.join(', ')}`);
        ctx.out(`still parked: ${report.stillParked.length === 0 ? '-' : report.stillParked.join(', ')}`);
      }
      return report.stillParked.length === 0 ? ExitCode.OK : ExitCode.FAILED;
    } finally {
      await projector.stop().catch(() => undefined);
      await nc.close().catch(() => undefined);
    }
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/**
 * `ratchet projections rebuild <name> --version N`: build version N from the event store feed
 * beside the live version, with a progress bar on stderr, until it reaches the feed's end and
 * follows JetStream. `--watch` only watches a build a running projector does.
 */
export async function runProjectionsRebuild(ctx: CliContext, positionals: readonly string[], flags: CommandFlags): Promise<number> {
  const [name, ...extra] = positionals;
  if (name === undefined || extra.length > 0 || typeof flags.version !== 'string') {
    throw usageError('usage: ratchet projections rebuild <name> --version N [--switch] [--watch]');
  }
  const parsed = z.coerce.number().int().min(1).safeParse(flags.version);
  if (!parsed.success) throw usageError(`--version must be a positive integer, got "${flags.version}"`);
  const projection = projectionNamed(await requireCliApp(ctx, 'ratchet projections rebuild'), name, parsed.data);
  const pool = await openPostgres(ctx.options, 8);
  try {
    await requireEventStore(pool, ctx.options);
    return flags.watch === true ? await watchBuild(ctx, pool, projection) : await runBuild(ctx, pool, projection, flags.switch === true);
  } finally {
    await pool.end().catch(() => undefined);
  }
}

async function runBuild(ctx: CliContext, pool: pg.Pool, projection: Projection, switchNow: boolean): Promise<number> {
  const before = await versionRow(pool, projection);
  if (before?.status === 'following') {
    return report(ctx, pool, projection, { alreadyBuilt: true, seconds: 0, done: before.feedEvents });
  }
  const nc = await connectNats(ctx.options);
  const store = createPostgresEventStore({ pool });
  const projector: Projector = createProjector({
    nats: nc,
    store,
    pool,
    projections: [projection],
    autoSwitch: switchNow,
    logger: errorLogger(),
  });
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSigint);
  const startedAt = Date.now();
  try {
    await projector.start();
    const following = projector.whenFollowing(projection.name, projection.version).then(() => true);
    const failed = () => projector.status().some((s) => s.phase === 'stopped' || s.phase === 'retrying');
    const last = await trackProgress(ctx, pool, projection, following, () => interrupted || failed());
    if (failed())
      throw new CliError(`the build of ${projection.key} stopped on an error (logged above); run it again to resume`, ExitCode.FAILED);
    if (interrupted) {
      throw new CliError(
        `interrupted at ${last.done}/${last.total}; the build resumes from its checkpoint when run again`,
        ExitCode.FAILED,
      );
    }
    // The version row says 'following' a moment before the projector has switched readers to it:
    // wait for the projector itself, so the report sees the switch.
    await following;
    return await report(ctx, pool, projection, { alreadyBuilt: false, seconds: (Date.now() - startedAt) / 1000, done: last.done });
  } finally {
    process.off('SIGINT', onSigint);
    await projector.stop().catch(() => undefined);
    await nc.close().catch(() => undefined);
  }
}

async function watchBuild(ctx: CliContext, pool: pg.Pool, projection: Projection): Promise<number> {
  const row = await versionRow(pool, projection);
  if (row === undefined) {
    throw usageError(
      `no projector builds ${projection.key}: run one whose app lists that version (the turnstile app: TURNSTILE_PROJECTION_VERSIONS) or rebuild without --watch`,
    );
  }
  const startedAt = Date.now();
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSigint);
  try {
    const last = await trackProgress(ctx, pool, projection, undefined, () => interrupted);
    if (interrupted) throw new CliError(`stopped watching at ${last.done}/${last.total}`, ExitCode.FAILED);
    return await report(ctx, pool, projection, {
      alreadyBuilt: row.status === 'following',
      seconds: (Date.now() - startedAt) / 1000,
      done: last.done,
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** Poll the version's feed counter and draw progress until it follows (or `stop()`); the last reading. */
async function trackProgress(
  ctx: CliContext,
  pool: pg.Pool,
  projection: Projection,
  following: Promise<boolean> | undefined,
  stop: () => boolean,
): Promise<Progress> {
  const store = createPostgresEventStore({ pool });
  const bar = new ProgressBar(ctx.stderr, projection.key);
  let followed = false;
  void following?.then(() => {
    followed = true;
  });
  let total = (await store.feedHead()).eventCount;
  let totalAt = Date.now();
  const startedAt = Date.now();
  const first = (await versionRow(pool, projection))?.feedEvents ?? 0;
  let progress: Progress = { done: first, total: Math.max(total, first), rate: 0 };
  for (;;) {
    const row = await versionRow(pool, projection);
    const done = row?.feedEvents ?? 0;
    if (Date.now() - totalAt > 5_000) {
      total = (await store.feedHead()).eventCount;
      totalAt = Date.now();
    }
    const elapsed = (Date.now() - startedAt) / 1000;
    const finished = followed || row?.status === 'following';
    progress = { done, total: finished ? done : Math.max(total, done), rate: elapsed > 0 ? (done - first) / elapsed : 0 };
    if (finished || stop()) break;
    bar.update(progress);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  bar.finish(progress);
  return progress;
}

async function report(
  ctx: CliContext,
  pool: pg.Pool,
  projection: Projection,
  r: { alreadyBuilt: boolean; seconds: number; done: number },
): Promise<number> {
  const active = await pool.query<{ version: number }>(`SELECT version FROM ${S}.active WHERE name = $1`, [projection.name]);
  const activeVersion = active.rows[0]?.version ?? null;
  if (ctx.options.json) {
    ctx.out(
      JSON.stringify({
        projection: projection.name,
        version: projection.version,
        status: 'following',
        alreadyBuilt: r.alreadyBuilt,
        feedEvents: r.done,
        seconds: r.seconds,
        activeVersion,
      }),
    );
    return ExitCode.OK;
  }
  ctx.out(
    r.alreadyBuilt
      ? `${projection.key} is built (follows JetStream)`
      : `${projection.key} built: ${r.done} events from the store in ${r.seconds.toFixed(1)} s; it follows JetStream now`,
  );
  if (activeVersion === projection.version) ctx.out(`readers see ${projection.key}`);
  else {
    ctx.out(
      `readers still see ${projection.name}@v${activeVersion ?? '?'}: run the projector with this version ` +
        `(its app listing v${activeVersion ?? projection.version} and v${projection.version}; the turnstile app: TURNSTILE_PROJECTION_VERSIONS=${activeVersion ?? projection.version},${projection.version}); it switches when it starts (PROJECTOR_AUTO_SWITCH), or pass --switch`,
    );
  }
  return ExitCode.OK;
}

interface VersionRow {
  readonly status: 'building' | 'following';
  readonly feedEvents: number;
}

async function versionRow(pool: pg.Pool, p: Projection): Promise<VersionRow | undefined> {
  const exists = await pool.query<{ t: string | null }>(`SELECT to_regclass('${PROJECTIONS_SCHEMA}.versions')::text AS t`);
  if (exists.rows[0]?.t == null) return undefined;
  const res = await pool.query<{ status: 'building' | 'following'; feed_events: string }>(
    `SELECT status, feed_events FROM ${S}.versions WHERE name = $1 AND version = $2`,
    [p.name, p.version],
  );
  const row = res.rows[0];
  return row === undefined ? undefined : { status: row.status, feedEvents: Number(row.feed_events) };
}

async function versionsWithStatus(pool: pg.Pool, name: string, status: string): Promise<number[]> {
  const res = await pool.query<{ version: number }>(`SELECT version FROM ${S}.versions WHERE name = $1 AND status = $2`, [name, status]);
  return res.rows.map((r) => r.version);
}

/** The projector's errors as JSON lines on stderr (its info logs would drown the progress bar). */
function errorLogger(): Logger {
  return pino({ level: 'error', base: { service: 'ratchet-cli' } }, pino.destination({ dest: 2, sync: true }));
}
