// The sealing committer hands one stream's appends to the group committer in the order they were
// submitted, even when an earlier one waits for its subject's key and a later one does not; it
// passes aggregates without sensitive fields straight through, turns a failure to seal into the
// append's outcome, and asks for a reload after a value of a forgotten subject was stored as its
// placeholder.
import { defineAggregate, ErrorCode, RatchetError, sensitive, type NewEvent } from '@ratchet/core';
import type { AppendOutcome, AppendRequest, SealedEvents } from '@ratchet/event-store-postgres';
import { Turnstile } from '@ratchet/turnstile';
import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { z } from 'zod';
import { SealingCommitter } from './sealing-committer.js';

const Member = defineAggregate({
  type: 'member',
  machine: createMachine({ id: 'member' }),
  commands: {},
  events: { named: z.object({ name: sensitive(z.string(), { subject: (d: { who: string }) => d.who }), who: z.string() }) },
  decide: {},
});

const request = (streamId: string, expectedVersion: number, name: string): AppendRequest => ({
  streamId,
  expectedVersion,
  events: [{ type: 'named', data: { name, who: name } }],
});

const okOutcome = (r: AppendRequest): AppendOutcome => ({
  ok: true,
  result: { streamId: r.streamId, fromVersion: 1, version: 1, events: [], duplicate: false },
});

/** A cipher whose seal of `slow` subjects waits until released. */
function fakeCipher() {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  return {
    release,
    async seal(_a: unknown, _s: string, events: readonly NewEvent[]): Promise<SealedEvents> {
      const who = (events[0]!.data as { who: string }).who;
      if (who.startsWith('slow')) await gate;
      if (who === 'broken') throw new RatchetError(ErrorCode.STORE_UNAVAILABLE, 'keys unreadable');
      return { events: events.map((e) => ({ ...e, data: { sealed: true } })), forgotten: who === 'gone' ? ['gone'] : [] };
    },
  };
}

describe('SealingCommitter', () => {
  it('keeps the submission order of one stream while a key is read, and does not hold other streams back', async () => {
    const order: string[] = [];
    const cipher = fakeCipher();
    const inner = {
      submit: async (r: AppendRequest) => {
        order.push(`${r.streamId}@${r.expectedVersion}`);
        return okOutcome(r);
      },
    };
    const committer = new SealingCommitter(inner, cipher, (s) => (s.startsWith('member/') ? Member : Turnstile));
    const done = [
      committer.submit(request('member/a', 0, 'slow-1')),
      committer.submit(request('member/a', 1, 'fast')),
      committer.submit(request('member/b', 0, 'fast')),
      committer.submit({ streamId: 'turnstile/t', expectedVersion: 0, events: [{ type: 'installed', data: {} }] }),
    ];
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual(['turnstile/t@0', 'member/b@0']);
    cipher.release();
    await Promise.all(done);
    expect(order).toEqual(['turnstile/t@0', 'member/b@0', 'member/a@0', 'member/a@1']);
  });

  it('seals the events it hands on, and makes a failure to seal the outcome', async () => {
    const seen: AppendRequest[] = [];
    const committer = new SealingCommitter(
      {
        submit: async (r) => {
          seen.push(r);
          return okOutcome(r);
        },
      },
      fakeCipher(),
      () => Member,
    );
    await committer.submit(request('member/c', 0, 'fast'));
    expect(seen[0]!.events[0]!.data).toEqual({ sealed: true });
    expect(await committer.submit(request('member/c', 1, 'broken'))).toMatchObject({ ok: false, error: { code: 'STORE_UNAVAILABLE' } });
    expect(seen).toHaveLength(1);
  });

  it('asks for a reload after storing a placeholder for a forgotten subject', async () => {
    const reloads: string[] = [];
    const committer = new SealingCommitter(
      { submit: async (r) => okOutcome(r) },
      fakeCipher(),
      () => Member,
      (s) => reloads.push(s),
    );
    await committer.submit(request('member/d', 0, 'fast'));
    await committer.submit(request('member/d', 1, 'gone'));
    await new Promise((r) => setImmediate(r));
    expect(reloads).toEqual(['member/d']);
  });
});
