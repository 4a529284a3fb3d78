import { defineAggregate, reject, type EventUnion } from '@ratchet/core';
import { assign, setup } from 'xstate';
import { z } from 'zod';
import { emailAddress } from './email-address.js';

/** An author's name: trimmed, required, at most 100 characters. */
export const authorName = z.string().trim().min(1, 'Enter a name').max(100, 'A name has at most 100 characters');

const newAuthor = z.object({ name: authorName, email: emailAddress }).strict();

/** Zod schemas of an author's events. `authorAdded` is the one place an author's address is stored. */
export const authorEvents = {
  authorAdded: newAuthor,
};

/** Zod schemas of an author's commands (Sequent's AddAuthor). */
export const authorCommands = {
  /** Add the author. Send it only after the address was claimed for this author id (README). */
  add: newAuthor,
};

/** An author's domain event. */
export type AuthorEvent = EventUnion<typeof authorEvents>;

/** What an author remembers. */
export interface AuthorContext {
  readonly name: string;
  readonly email: string;
}

/** The author's statechart: new → added. */
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
    added: {},
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
  },
});

/** The author aggregate's type. */
export type AuthorAggregate = typeof Author;
