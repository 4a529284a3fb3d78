import { defineAggregate, reject, type EventUnion } from '@ratchet/core';
import { assign, setup } from 'xstate';
import { z } from 'zod';

const newBook = z
  .object({
    title: z.string().trim().min(1, 'Enter a title').max(200, 'A title has at most 200 characters'),
    authorId: z.uuid('An author id is a UUID'),
  })
  .strict();

/** Zod schemas of a book's events. */
export const bookEvents = {
  bookAdded: newBook,
};

/** Zod schemas of a book's commands. */
export const bookCommands = {
  /** Add the book by an author. The author's existence is checked by the sender (README). */
  add: newBook,
};

/** A book's domain event. */
export type BookEvent = EventUnion<typeof bookEvents>;

/** What a book remembers. */
export interface BookContext {
  readonly title: string;
  readonly authorId: string;
}

/** The book's statechart: new → added. */
export const bookMachine = setup({
  types: { context: {} as BookContext, events: {} as BookEvent },
}).createMachine({
  id: 'book',
  initial: 'new',
  context: { title: '', authorId: '' },
  states: {
    new: {
      on: { bookAdded: { target: 'added', actions: assign(({ event }) => ({ title: event.data.title, authorId: event.data.authorId })) } },
    },
    added: {},
  },
});

/**
 * A book, keyed by a UUID, referencing its author by the author's id.
 * @example
 * Book.decide({ type: 'add', payload: { title: 'Domain-Driven Design', authorId } }, Book.initialState());
 */
export const Book = defineAggregate({
  type: 'book',
  machine: bookMachine,
  commands: bookCommands,
  events: bookEvents,
  decide: {
    add: (book, state) => (state.matches('new') ? [{ type: 'bookAdded', data: book }] : reject('This book was already added')),
  },
});

/** The book aggregate's type. */
export type BookAggregate = typeof Book;
