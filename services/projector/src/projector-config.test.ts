import { loadConfig } from '@ratchet/ops';
import { describe, expect, it } from 'vitest';
import { ProjectorConfigSchema } from './projector-config.js';

const base = { NATS_URL: 'nats://127.0.0.1:4222', DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/ratchet' };

describe('projector config: batch sizes', () => {
  it('leaves PROJECTOR_MAX_BATCH_SIZE unset by default (the projector then uses 2,000 or the batch size)', () => {
    const config = loadConfig(ProjectorConfigSchema, base);
    expect(config.PROJECTOR_BATCH_SIZE).toBe(200);
    expect(config.PROJECTOR_MAX_BATCH_SIZE).toBeUndefined();
    expect(loadConfig(ProjectorConfigSchema, { ...base, PROJECTOR_MAX_BATCH_SIZE: '' }).PROJECTOR_MAX_BATCH_SIZE).toBeUndefined();
  });

  it('takes a maximum at or above the batch size', () => {
    expect(
      loadConfig(ProjectorConfigSchema, { ...base, PROJECTOR_BATCH_SIZE: '100', PROJECTOR_MAX_BATCH_SIZE: '100' }).PROJECTOR_MAX_BATCH_SIZE,
    ).toBe(100);
    expect(loadConfig(ProjectorConfigSchema, { ...base, PROJECTOR_MAX_BATCH_SIZE: '5000' }).PROJECTOR_MAX_BATCH_SIZE).toBe(5_000);
  });

  it.each(['100', '0', '1.5', 'many', '20001'])('refuses PROJECTOR_MAX_BATCH_SIZE=%s (batch size 200)', (value) => {
    expect(() => loadConfig(ProjectorConfigSchema, { ...base, PROJECTOR_MAX_BATCH_SIZE: value })).toThrow(/PROJECTOR_MAX_BATCH_SIZE/);
  });
});

describe('projector config: process managers', () => {
  it("runs projections and processes by default, either can be turned off, and the partition count matches the workers' default", () => {
    const config = loadConfig(ProjectorConfigSchema, base);
    expect([config.PROJECTOR_PROJECTIONS, config.PROJECTOR_PROCESSES, config.RATCHET_PARTITIONS]).toEqual([true, true, 64]);
    expect([
      config.PROCESS_BATCH_SIZE,
      config.PROCESS_MAX_SENDS,
      config.PROCESS_SEND_TIMEOUT_MS,
      config.PROCESS_UNANSWERED_RETRY_MS,
    ]).toEqual([100, 10, 5_000, 30_000]);
    const own = loadConfig(ProjectorConfigSchema, { ...base, PROJECTOR_PROJECTIONS: 'false' });
    expect([own.PROJECTOR_PROJECTIONS, own.PROJECTOR_PROCESSES]).toEqual([false, true]);
    expect(() => loadConfig(ProjectorConfigSchema, { ...base, PROCESS_MAX_SENDS: '0' })).toThrow(/PROCESS_MAX_SENDS/);
  });
});
