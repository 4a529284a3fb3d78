import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseHistory } from './history-record.js';
import { HistoryRecorder, outcomeOf } from './history-recorder.js';

describe('outcomeOf', () => {
  it('maps replies to the four outcomes', () => {
    expect(outcomeOf({ status: 'ok', version: 3 })).toBe('ok');
    expect(outcomeOf({ status: 'rejected' })).toBe('rejected');
    expect(outcomeOf({ status: 'error', error: { code: 'VALIDATION_FAILED', retryable: false } })).toBe('failed');
    expect(outcomeOf({ status: 'error', error: { code: 'VERSION_CONFLICT', retryable: false } })).toBe('failed');
    expect(outcomeOf({ status: 'error', error: { code: 'TIMEOUT', retryable: true } })).toBe('unknown');
    expect(outcomeOf({ status: 'error', error: { code: 'UNAVAILABLE', retryable: true } })).toBe('unknown');
    expect(outcomeOf({ status: 'error', error: { code: 'INTERNAL', retryable: false } })).toBe('unknown');
    expect(outcomeOf({ status: 'error', error: { code: 'MALFORMED_REPLY', retryable: false } })).toBe('unknown');
  });
});

describe('HistoryRecorder', () => {
  it('writes JSON lines that parseHistory reads back, pending commands as unknown', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ratchet-recorder-'));
    try {
      let t = 100;
      const recorder = new HistoryRecorder({ path: join(dir, 'h.jsonl'), now: () => (t += 1) });
      const base = { aggregateType: 'turnstile', aggregateId: 't-1', commandType: 'pushArm' };
      recorder.invoked({ ...base, commandId: 'a' }).completed({ status: 'ok', version: 2, events: [{}] });
      const b = recorder.invoked({ ...base, commandId: 'b', payload: { n: 1 } });
      recorder.invoked({ ...base, commandId: 'c' });
      b.completed({ status: 'error', error: { code: 'UNKNOWN_COMMAND', retryable: false } });
      expect(() => b.completed({ status: 'rejected' })).toThrow(/already completed/);
      expect(recorder.pending).toBe(1);
      await recorder.close();
      const history = parseHistory(await readFile(join(dir, 'h.jsonl'), 'utf8'));
      expect(history).toEqual([
        { ...base, commandId: 'a', invokedAt: 101, completedAt: 102, outcome: 'ok', version: 2, events: 1 },
        { ...base, commandId: 'b', payload: { n: 1 }, invokedAt: 103, completedAt: 105, outcome: 'failed', code: 'UNKNOWN_COMMAND' },
        { ...base, commandId: 'c', invokedAt: 104, outcome: 'unknown' },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("keeps what C10 checks: the expected version sent, a rejection's version and reason, a conflict's actual version", () => {
    let t = 0;
    const recorder = new HistoryRecorder({ now: () => (t += 1) });
    const base = { aggregateType: 'turnstile', aggregateId: 't-1', commandType: 'insertCoin' };
    recorder.invoked({ ...base, commandId: 'r' }).completed({ status: 'rejected', reason: 'Turnstile not installed', version: 0 });
    recorder.invoked({ ...base, commandId: 'v', expectedVersion: 4 }).completed({
      status: 'error',
      error: { code: 'VERSION_CONFLICT', retryable: false, details: { expectedVersion: 4, actualVersion: 6 } },
    });
    expect(recorder.records).toEqual([
      { ...base, commandId: 'r', invokedAt: 1, completedAt: 2, outcome: 'rejected', version: 0, reason: 'Turnstile not installed' },
      {
        ...base,
        commandId: 'v',
        expectedVersion: 4,
        invokedAt: 3,
        completedAt: 4,
        outcome: 'failed',
        code: 'VERSION_CONFLICT',
        actualVersion: 6,
      },
    ]);
    expect(parseHistory(recorder.records.map((r) => JSON.stringify(r)).join('\n'))).toEqual(recorder.records);
  });

  it('parseHistory names the bad line and accepts ISO times', () => {
    expect(() => parseHistory('{"commandId":"a"}\n')).toThrow(/line 1: aggregateType/);
    expect(() => parseHistory('\n{oops\n')).toThrow(/line 2 is not JSON/);
    const [r] = parseHistory(
      '{"commandId":"a","aggregateType":"t","aggregateId":"x","commandType":"c","invokedAt":"2025-01-01T00:00:00.000Z","outcome":"rejected"}',
    );
    expect(r?.invokedAt).toBe(Date.parse('2025-01-01T00:00:00.000Z'));
  });
});
