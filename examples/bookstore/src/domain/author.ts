import { defineAggregate, FORGOTTEN, reject, sensitive, type EventUnion } from '@ratchet/core';
import { assign, setup } from 'xstate';
import { z } from 'zod';
import { emailAddress } from './email-address.js';

/** An author's name: trimmed, required, at most 100 characters. */
export const authorName = z.string().trim().min(1, 'Enter a name').max(100, 'A name has at most 100 characters');

const newAuthor = z.object({ name: authorName, email: emailAddress }).strict();

/**
 * The address as events store it: personal data of the author (the data subject is the author's
 * id), sealed in the store and in JetStream, and `"[forgotten]"` once the author was forgotten.
 */
const storedEmail = sensitive(emailAddress, { subject: (_data, { aggregateId }) => aggregateId });

/**
 * Zod schemas of an author's events. `authorAdded` is the one place an author's address is stored
 * (sealed: see `storedEmail`); `authorForgotten` records "forget me" and carries nothing.
 */
export const authorEvents = {
  authorAdded: z.object({ name: authorName, email: storedEmail }).strict(),
  authorForgotten: z.object({}).strict(),
};

/** Zod schemas of an author's commands (Sequent's AddAuthor, and "forget me"). */
export const authorCommands = {
  /** Add the author. Send it only after the address was claimed for this author id (README). */
  add: newAuthor,
  /** Forget the author's personal data: their address reads as `"[forgotten]"` from then on (README, "Forget me"). */
  forget: z.object({}).strict(),
};

/** An author's domain event. */
export type AuthorEvent = EventUnion<typeof authorEvents>;

/** What an author remembers. */
export interface AuthorContext {
  readonly name: string;
  readonly email: string;
}

/** The author's statechart: new → added → forgotten. */
export const authorMachine = setup({
  types: { context: {} as AuthorContext, events: {} as AuthorEvent },
}).createMachine({
  id: 'author',
  initial: 'new',
  context: { name: '', email: '' },
  states: {
    new: {
      on: { authorAdded: { target: 'added', actions: assign(({ event }) => ({ name: event.data.name, email: event.data.email })) } },
    },
    added: {
      on: { authorForgotten: { target: 'forgotten', actions: assign({ email: FORGOTTEN }) } },
    },
    forgotten: {},
  },
});

/**
 * An author of the bookstore, keyed by a UUID. Its address is unique across authors only through
 * the `email` aggregate: claim first, then add (examples/bookstore/README.md).
 * @example
 * Author.decide({ type: 'add', payload: { name: 'Ben', email: 'ben@sequent.io' } }, Author.initialState());
 */
export const Author = defineAggregate({
  type: 'author',
  machine: authorMachine,
  commands: authorCommands,
  events: authorEvents,
  decide: {
    add: (author, state) => (state.matches('new') ? [{ type: 'authorAdded', data: author }] : reject('This author was already added')),
    // Again for a forgotten author: done already (the page retries the key's deletion after it).
    forget: (_payload, state) => {
      if (state.matches('new')) return reject('There is no such author');
      return state.matches('forgotten') ? [] : [{ type: 'authorForgotten', data: {} }];
    },
  },
});

/** The author aggregate's type. */
export type AuthorAggregate = typeof Author;
