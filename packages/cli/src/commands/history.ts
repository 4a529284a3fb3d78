import { createPostgresEventStore } from '@ratchet/event-store-postgres';
import { streamIdOf } from '@ratchet/transport-nats';
import { usageError } from '../cli-error.js';
import type { CliContext } from '../cli-context.js';
import { openPostgres, requireEventStore } from '../connections.js';
import { ExitCode } from '../exit-code.js';
import { formatJsonCell, formatTable } from '../format-table.js';
import { loadCliApp } from '../cli-app.js';
import { aggregateNamed } from '../registry.js';
import { checkId } from '../check-id.js';

/**
 * `ratchet history <aggregate> <id>`: the stream's events from the store, in version order, like
 * `select sequence_number, event_type, event_json from event_records` in Sequent's guide, but one
 * stream at a time and with the data (cut to fit; `--json` has it whole).
 */
export async function runHistory(ctx: CliContext, positionals: readonly string[]): Promise<number> {
  const [type, id, ...extra] = positionals;
  if (type === undefined || id === undefined || extra.length > 0) throw usageError(`usage: ratchet history <aggregate> <id>`);
  // With an app known, an aggregate type it does not have is a typo, not an empty stream.
  const app = await loadCliApp(ctx);
  if (app !== undefined) aggregateNamed(app, type);
  checkId(id);
  const pool = await openPostgres(ctx.options);
  const store = createPostgresEventStore({ pool });
  try {
    await requireEventStore(pool, ctx.options);
    const streamId = streamIdOf(type, id);
    const events = await store.readStream(streamId);
    if (ctx.options.json) {
      ctx.out(
        JSON.stringify(
          events.map((e) => ({
            version: e.version,
            type: e.type,
            schemaVersion: e.schemaVersion,
            data: e.data,
            metadata: e.metadata,
            recordedAt: e.recordedAt.toISOString(),
            globalPosition: e.globalPosition,
            epoch: e.epoch,
          })),
        ),
      );
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
    await pool.end().catch(() => undefined);
  }
}
