import { ValidationError } from '@ratchet/core';
import { describe, expect, it } from 'vitest';
import { defineProjection } from './define-projection.js';
import type { ProjectorStore } from './projector-store.js';
import { createProjector, type ProjectorOptions } from './projector.js';

const projection = defineProjection({ name: 'sizes', version: 1, tables: ['sizes'], setup: async () => undefined, handlers: {} });
const store: ProjectorStore = {
  readStream: async () => [],
  readFeed: async (after) => ({ events: [], checkpoint: after }),
  feedHead: async () => ({ eventCount: 0 }),
};
// Refused before any pool is made, so nothing connects.
const make = (sizes: Pick<ProjectorOptions, 'batchSize' | 'maxBatchSize'>) => () =>
  createProjector({ source: 'feed', store, connectionString: 'postgres://127.0.0.1:1/none', projections: [projection], ...sizes });

describe('createProjector: batch sizes', () => {
  it.each([
    { batchSize: 0 },
    { batchSize: 2.5 },
    { maxBatchSize: -1 },
    { batchSize: 500, maxBatchSize: 100 },
    { maxBatchSize: 199 },
  ])('refuses %o', (sizes) => {
    expect(make(sizes)).toThrow(ValidationError);
  });

  it.each([{}, { batchSize: 50 }, { batchSize: 5_000 }, { batchSize: 100, maxBatchSize: 100 }])('takes %o', async (sizes) => {
    const projector = make(sizes)();
    await projector.stop();
  });
});
