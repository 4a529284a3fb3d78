import pg from 'pg';
import type { LoadRecord } from './turnstile-load.js';

/** What the store holds compared with what clients were told. */
export interface StoreCheck {
  readonly acknowledged: number;
  /** Acknowledged commands whose event is missing or carries another command id. */
  readonly lost: string[];
  /** Streams whose versions are not exactly 1..n. */
  readonly gaps: string[];
  /** Command ids that wrote events more than once. */
  readonly duplicated: string[];
  readonly events: number;
}

/** Check every acknowledged command against ratchet.events, and every stream for gaps. */
export async function checkStore(databaseUrl: string, records: readonly LoadRecord[]): Promise<StoreCheck> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const rows = await client.query<{ stream_id: string; version: number; command_id: string | null }>(
      `select stream_id, version, metadata->>'commandId' as command_id from ratchet.events`,
    );
    const byPosition = new Map<string, string | null>();
    const commandCount = new Map<string, Set<string>>();
    const versions = new Map<string, number[]>();
    for (const r of rows.rows) {
      byPosition.set(`${r.stream_id}@${r.version}`, r.command_id);
      if (r.command_id !== null) {
        const set = commandCount.get(r.command_id) ?? new Set<string>();
        set.add(r.stream_id);
        commandCount.set(r.command_id, set);
      }
      const list = versions.get(r.stream_id) ?? [];
      list.push(r.version);
      versions.set(r.stream_id, list);
    }
    const acked = records.filter((r) => r.status === 'ok');
    const lost = acked
      .filter((r) => byPosition.get(`turnstile/${r.id}@${r.version}`) !== r.commandId)
      .map((r) => `${r.commandId} (turnstile/${r.id}@${r.version})`);
    const gaps: string[] = [];
    for (const [stream, list] of versions) {
      list.sort((a, b) => a - b);
      if (list.some((v, i) => v !== i + 1)) gaps.push(stream);
    }
    // One turnstile command writes one event, so a command id seen at two versions was applied twice.
    const perCommand = new Map<string, number>();
    for (const r of rows.rows) if (r.command_id !== null) perCommand.set(r.command_id, (perCommand.get(r.command_id) ?? 0) + 1);
    const duplicated = [...perCommand].filter(([, n]) => n > 1).map(([id]) => id);
    return { acknowledged: acked.length, lost, gaps, duplicated, events: rows.rows.length };
  } finally {
    await client.end();
  }
}
