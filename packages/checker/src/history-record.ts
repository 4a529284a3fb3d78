import { readFile } from 'node:fs/promises';
import { z } from 'zod';

/**
 * What a client learnt about one command: `ok` (committed, at `version`), `rejected` (a business
 * rule refused it), `failed` (an error reply that is not retryable: nothing was written) or
 * `unknown` (timed out, or gave up on retryable errors: it may or may not have been committed).
 */
export type CommandOutcome = 'ok' | 'rejected' | 'failed' | 'unknown';

/** One logical command of a recorded history (one line of the JSON-lines file). */
export interface HistoryRecord {
  /** The command id, the same on every retry of this command. */
  readonly commandId: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly commandType: string;
  readonly payload?: unknown;
  /** When the client first sent it: milliseconds since the epoch (fractions allowed). */
  readonly invokedAt: number;
  /** When the client got its final answer; absent when the outcome is unknown because the client died. */
  readonly completedAt?: number;
  readonly outcome: CommandOutcome;
  /**
   * For `ok`: the stream version the reply reported (the command's last event, or the version it
   * saw when it wrote nothing). For `rejected`: the version the decision was made against.
   */
  readonly version?: number;
  /** For `ok`: how many events the reply reported; when absent, at least one is assumed. */
  readonly events?: number;
  /** For `failed` and `unknown`: the error code. */
  readonly code?: string;
  /** The expected version the command was sent with, if any. */
  readonly expectedVersion?: number;
  /** For a VERSION_CONFLICT: the version the answer said the stream was at. */
  readonly actualVersion?: number;
  /** For `rejected`: the reason given. */
  readonly reason?: string;
}

// Times may be written as epoch milliseconds or as ISO-8601 strings; both become milliseconds.
const time = z.union([
  z.number().finite(),
  z
    .string()
    .datetime({ offset: true })
    .transform((s) => Date.parse(s)),
]);

/** The schema of one history line. */
export const HistoryRecordSchema = z.object({
  commandId: z.string().min(1),
  aggregateType: z.string().min(1),
  aggregateId: z.string().min(1),
  commandType: z.string().min(1),
  payload: z.unknown().optional(),
  invokedAt: time,
  completedAt: time.optional(),
  outcome: z.enum(['ok', 'rejected', 'failed', 'unknown']),
  version: z.number().int().min(0).optional(),
  events: z.number().int().min(0).optional(),
  code: z.string().optional(),
  expectedVersion: z.number().int().min(0).optional(),
  actualVersion: z.number().int().min(0).optional(),
  reason: z.string().optional(),
});

/** Parse a JSON-lines history; throws naming the first bad line. Blank lines are skipped. */
export function parseHistory(text: string): HistoryRecord[] {
  const records: HistoryRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new Error(`history line ${i + 1} is not JSON`);
    }
    const parsed = HistoryRecordSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`history line ${i + 1}: ${issue?.path.join('.') || '(line)'} ${issue?.message ?? 'is invalid'}`);
    }
    records.push(parsed.data as HistoryRecord);
  }
  return records;
}

/** Read and parse a JSON-lines history file. */
export async function readHistory(path: string): Promise<HistoryRecord[]> {
  return parseHistory(await readFile(path, 'utf8'));
}
