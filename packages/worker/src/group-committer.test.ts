import { describe, expect, it } from 'vitest';
import { ErrorCode, type RatchetError, VersionConflictError } from '@ratchet/core';
import type { AppendOutcome, AppendRequest } from '@ratchet/event-store-postgres';
import { GroupCommitter } from './group-committer.js';

function request(streamId: string): AppendRequest {
  return { streamId, expectedVersion: 0, events: [{ type: 'e', data: {} }] };
}

/** A store double that records batches and lets the test release them one by one. */
class GatedStore {
  batches: string[][] = [];
  #gates: Array<() => void> = [];
  fail: ((streamId: string) => AppendOutcome | undefined) | undefined;
  throwOnce: Error | undefined;

  async appendBatch(requests: readonly AppendRequest[]): Promise<AppendOutcome[]> {
    this.batches.push(requests.map((r) => r.streamId));
    await new Promise<void>((resolve) => this.#gates.push(resolve));
    if (this.throwOnce !== undefined) {
      const e = this.throwOnce;
      this.throwOnce = undefined;
      throw e;
    }
    return requests.map(
      (r) =>
        this.fail?.(r.streamId) ?? {
          ok: true,
          result: { streamId: r.streamId, fromVersion: 1, version: 1, events: [], duplicate: false },
        },
    );
  }

  release(): void {
    this.#gates.shift()?.();
  }

  get waiting(): number {
    return this.#gates.length;
  }
}

async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}

describe('GroupCommitter', () => {
  it('batches requests that arrive while a transaction runs', async () => {
    const store = new GatedStore();
    const gc = new GroupCommitter(store, { maxConcurrentBatches: 1 });
    const first = gc.submit(request('a'));
    await until(() => store.waiting === 1);
    const rest = ['b', 'c', 'd'].map((s) => gc.submit(request(s)));
    store.release();
    await first;
    await until(() => store.waiting === 1);
    store.release();
    await Promise.all(rest);
    expect(store.batches).toEqual([['a'], ['b', 'c', 'd']]);
  });

  it('gives each request its own outcome: a conflict fails only its request', async () => {
    const store = new GatedStore();
    store.fail = (s) => (s === 'b' ? { ok: false, error: new VersionConflictError('b', 0, 3) } : undefined);
    const gc = new GroupCommitter(store);
    const outcomes = Promise.all(['a', 'b', 'c'].map((s) => gc.submit(request(s))));
    await until(() => store.waiting === 1);
    store.release();
    const [a, b, c] = await outcomes;
    expect(store.batches).toEqual([['a', 'b', 'c']]);
    expect(a?.ok).toBe(true);
    expect(c?.ok).toBe(true);
    expect(b?.ok).toBe(false);
    expect(!b?.ok && b?.error).toBeInstanceOf(VersionConflictError);
  });

  it('caps the batch size', async () => {
    const store = new GatedStore();
    const gc = new GroupCommitter(store, { maxBatchSize: 2, maxConcurrentBatches: 4 });
    const all = Promise.all(['a', 'b', 'c', 'd', 'e'].map((s) => gc.submit(request(s))));
    await until(() => store.waiting === 3);
    for (let i = 0; i < 3; i += 1) store.release();
    await all;
    expect(store.batches).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('turns a failed transaction into a retryable STORE_UNAVAILABLE for every request, then carries on', async () => {
    const store = new GatedStore();
    store.throwOnce = new Error('connection reset');
    const gc = new GroupCommitter(store);
    const failed = Promise.all([gc.submit(request('a')), gc.submit(request('b'))]);
    await until(() => store.waiting === 1);
    store.release();
    for (const o of await failed) {
      expect(o.ok).toBe(false);
      const e = (o as { error: RatchetError }).error;
      expect(e.code).toBe(ErrorCode.STORE_UNAVAILABLE);
      expect(e.retryable).toBe(true);
    }
    const next = gc.submit(request('c'));
    await until(() => store.waiting === 1);
    store.release();
    expect((await next).ok).toBe(true);
    await gc.idle();
  });
});
