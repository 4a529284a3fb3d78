import { ErrorCode, RatchetError, type AnyAggregate, type RecordedEvent } from '@ratchet/core';
import type { LoadAtTarget, PostgresEventStore } from '@ratchet/event-store-postgres';
import { streamIdOf } from '@ratchet/transport-nats';
import { usageError } from '../cli-error.js';
import type { CliContext } from '../cli-context.js';
import { cliStore } from '../cli-store.js';
import type { CommandFlags } from '../command-spec.js';
import { openPostgres, requireEventStore } from '../connections.js';
import { ExitCode } from '../exit-code.js';
import { formatJsonCell, formatTable } from '../format-table.js';
import { loadCliApp, requireCliApp } from '../cli-app.js';
import { aggregateNamed } from '../registry.js';
import { checkId } from '../check-id.js';

/**
 * `ratchet history <aggregate> <id> [--version N | --at <time>]`: the stream's events from the
 * store, in version order, like `select sequence_number, event_type, event_json from
 * event_records` in Sequent's guide, but one stream at a time and with the data (cut to fit;
 * `--json` has it whole). Sensitive values are opened with `$RATCHET_MASTER_KEY`, or read as their
 * placeholder once forgotten. With `--version` or `--at` (time travel, docs/time-travel.md): the
 * events up to that point, each with the state after it, then the state there.
 */
export async function runHistory(ctx: CliContext, positionals: readonly string[], flags: CommandFlags = {}): Promise<number> {
  const [type, id, ...extra] = positionals;
  if (type === undefined || id === undefined || extra.length > 0)
    throw usageError(`usage: ratchet history <aggregate> <id> [--version N | --at <time>]`);
  const target = targetOf(flags);
  // With an app known, an aggregate type it does not have is a typo, not an empty stream; time travel folds, so it needs the app.
  const app =
    target === undefined ? await loadCliApp(ctx) : await requireCliApp(ctx, `ratchet history --${'version' in target ? 'version' : 'at'}`);
  const aggregate = app === undefined ? undefined : aggregateNamed(app, type);
  checkId(id);
  const pool = await openPostgres(ctx.options);
  const store = cliStore(ctx, pool);
  try {
    await requireEventStore(pool, ctx.options);
    if (target !== undefined) {
      // requireCliApp above returned an app (or threw), and aggregateNamed an aggregate of it.
      if (aggregate === undefined) throw new RatchetError(ErrorCode.INTERNAL, 'time travel without the aggregate');
      return await printStateAt(ctx, store, aggregate, id, target);
    }
    const streamId = streamIdOf(type, id);
    const events = await store.cipher.openEvents(await store.readStream(streamId));
    if (ctx.options.json) {
      ctx.out(JSON.stringify(events.map(eventJson)));
    } else if (events.length === 0) {
      ctx.out(`${streamId} has no events`);
    } else {
      ctx.out(
        formatTable(
          ['VERSION', 'TYPE', 'DATA', 'RECORDED AT'],
          events.map((e) => [String(e.version), e.type, formatJsonCell(e.data), e.recordedAt.toISOString()]),
        ),
      );
    }
    return ExitCode.OK;
  } finally {
    await store.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
}

/** `--version N` or `--at <time>`, or neither; both, or a malformed one, is a usage error. */
function targetOf(flags: CommandFlags): LoadAtTarget | undefined {
  const version = flags.version;
  const at = flags.at;
  if (version !== undefined && at !== undefined) throw usageError('give --version or --at, not both');
  if (typeof version === 'string') {
    if (!/^\d{1,9}$/.test(version) || Number(version) < 1) throw usageError(`--version must be a positive integer, got "${version}"`);
    return { version: Number(version) };
  }
  if (typeof at === 'string') {
    const time = new Date(at);
    if (!/^\d{4}-\d{2}-\d{2}/.test(at) || Number.isNaN(time.getTime()))
      throw usageError(`--at must be an ISO 8601 time such as 2026-11-01T12:00:00Z, got "${at}"`);
    return { at: time };
  }
  return undefined;
}

/** The events up to the target, each with the state after it, and the state there (OUT_OF_RANGE outside the stream: exit 1). */
async function printStateAt(
  ctx: CliContext,
  store: PostgresEventStore,
  aggregate: AnyAggregate,
  id: string,
  target: LoadAtTarget,
): Promise<number> {
  // From the first event, not a snapshot: every event's state is printed.
  const at = await store.loadAt(aggregate, id, target, { snapshots: false });
  let state = aggregate.initialState();
  const steps = at.events.map((event) => {
    state = aggregate.replay([event], state);
    const { value, context } = aggregate.runtime.persist(state);
    return { event, value, context };
  });
  if (ctx.options.json) {
    ctx.out(
      JSON.stringify({
        streamId: at.streamId,
        version: at.version,
        head: at.head,
        recordedAt: at.recordedAt.toISOString(),
        value: at.value,
        context: at.context,
        events: steps.map((s) => ({ ...eventJson(s.event), state: { value: s.value, context: s.context } })),
      }),
    );
    return ExitCode.OK;
  }
  ctx.out(
    formatTable(
      ['VERSION', 'TYPE', 'DATA', 'STATE', 'CONTEXT', 'RECORDED AT'],
      steps.map((s) => [
        String(s.event.version),
        s.event.type,
        formatJsonCell(s.event.data),
        stateText(s.value),
        formatJsonCell(s.context),
        s.event.recordedAt.toISOString(),
      ]),
    ),
  );
  ctx.out(
    `${at.streamId} at version ${at.version} of ${at.head} (${at.recordedAt.toISOString()}): ${stateText(at.value)} ${JSON.stringify(at.context)}`,
  );
  return ExitCode.OK;
}

function stateText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function eventJson(e: RecordedEvent) {
  return {
    version: e.version,
    type: e.type,
    schemaVersion: e.schemaVersion,
    data: e.data,
    metadata: e.metadata,
    recordedAt: e.recordedAt.toISOString(),
    globalPosition: e.globalPosition,
    epoch: e.epoch,
  };
}
