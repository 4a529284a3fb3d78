import { defineAggregate, reject, type EventUnion } from '@ratchet/core';
import { assign, setup } from 'xstate';
import { z } from 'zod';

const byAuthor = z.object({ authorId: z.uuid('An author id is a UUID') }).strict();

/** Zod schemas of an e-mail claim's events: they name the author, never the address. */
export const emailEvents = {
  emailClaimed: byAuthor,
  emailReleased: byAuthor,
};

/** Zod schemas of an e-mail claim's commands. */
export const emailCommands = {
  /** Claim the address for a new author: succeeds for one author only; again for that author, a no-op. */
  claim: byAuthor,
  /** Give the address up (the author who holds it only), e.g. when creating that author failed. */
  release: byAuthor,
};

/** Why a claim is rejected when another author holds the address (the page shows it on the field). */
export const EMAIL_TAKEN = 'This e-mail address is already taken by another author';

/** An e-mail claim's domain event. */
export type EmailEvent = EventUnion<typeof emailEvents>;

/** What a claim remembers: the author holding the address, if any. */
export interface EmailContext {
  readonly authorId: string | null;
}

/** The claim's statechart: free ⇄ claimed. */
export const emailMachine = setup({
  types: { context: {} as EmailContext, events: {} as EmailEvent },
}).createMachine({
  id: 'email',
  initial: 'free',
  context: { authorId: null },
  states: {
    free: {
      on: { emailClaimed: { target: 'claimed', actions: assign({ authorId: ({ event }) => event.data.authorId }) } },
    },
    claimed: {
      on: { emailReleased: { target: 'free', actions: assign({ authorId: null }) } },
    },
  },
});

/**
 * One e-mail address, keyed by `emailKey(address)`: who holds it. Authors are separate
 * aggregates, so no author can see another's address; every claim of one address is decided here,
 * one after another, against the claims before it, which is what makes an address unique
 * (examples/bookstore/README.md, "One author per e-mail address").
 * @example
 * await gateway.post(`/commands/email/${emailKey(address)}`, { command: 'claim', payload: { authorId } });
 */
export const Email = defineAggregate({
  type: 'email',
  machine: emailMachine,
  commands: emailCommands,
  events: emailEvents,
  decide: {
    claim: ({ authorId }, state) => {
      if (state.matches('free')) return [{ type: 'emailClaimed', data: { authorId } }];
      // The same author again (a resent form, a retry after an unknown outcome): already done.
      return state.context.authorId === authorId ? [] : reject(EMAIL_TAKEN);
    },
    release: ({ authorId }, state) => {
      if (state.matches('free')) return reject('This e-mail address is not claimed');
      if (state.context.authorId !== authorId) return reject('Only the author holding an e-mail address can release it');
      return [{ type: 'emailReleased', data: { authorId } }];
    },
  },
});

/** The e-mail claim aggregate's type. */
export type EmailAggregate = typeof Email;
