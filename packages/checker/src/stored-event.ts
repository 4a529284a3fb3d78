import type pg from 'pg';

/** The columns of one stored event the checks need. */
export interface StoredEvent {
  readonly streamId: string;
  readonly version: number;
  readonly commandId: string | null;
  /** The writing transaction's id (xid8, as text). */
  readonly transactionId: string;
}

/** What to read: every stream, or only the given streams plus any event carrying one of the given command ids. */
export type EventSelection =
  | { readonly all: true }
  | { readonly all: false; readonly streamIds: readonly string[]; readonly commandIds: readonly string[] };

const PAGE = 20_000;

/**
 * Read the selected events and stream heads through a server-side cursor (pages of 20,000 rows),
 * so a large store is never buffered twice.
 */
export async function loadStoredEvents(
  client: pg.ClientBase,
  schema: string,
  selection: EventSelection,
): Promise<{ events: StoredEvent[]; heads: Map<string, number> }> {
  const s = `"${schema}"`;
  const where = selection.all ? '' : `WHERE stream_id = ANY($1::text[]) OR metadata->>'commandId' = ANY($2::text[])`;
  const params = selection.all ? [] : [selection.streamIds, selection.commandIds];
  const events: StoredEvent[] = [];
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await client.query(
      `DECLARE ratchet_checker_events NO SCROLL CURSOR FOR
       SELECT stream_id, version, metadata->>'commandId' AS command_id, transaction_id::text AS txid FROM ${s}.events ${where}`,
      params,
    );
    for (;;) {
      const page = await client.query<{ stream_id: string; version: number; command_id: string | null; txid: string }>(
        `FETCH ${PAGE} FROM ratchet_checker_events`,
      );
      for (const r of page.rows) events.push({ streamId: r.stream_id, version: r.version, commandId: r.command_id, transactionId: r.txid });
      if (page.rows.length < PAGE) break;
    }
    // Same snapshot as the events: heads and events agree unless the store itself is inconsistent.
    const heads = await client.query<{ stream_id: string; version: number }>(
      `SELECT stream_id, version FROM ${s}.streams ${selection.all ? '' : 'WHERE stream_id = ANY($1::text[])'}`,
      selection.all ? [] : [selection.streamIds],
    );
    return { events, heads: new Map(heads.rows.map((r) => [r.stream_id, r.version])) };
  } finally {
    await client.query('COMMIT');
  }
}
