import { given } from '@ratchet/testing';
import { describe, expect, it } from 'vitest';
import { Book } from './book.js';

const spec = given(Book);
const authorId = 'a8b1a534-f50b-4173-a73b-5b4a8bbcdd12';
const added = { type: 'bookAdded', data: { title: 'Domain-Driven Design', authorId } } as const;

describe('book rules', () => {
  it('adds a book by an author, the title trimmed', () => {
    spec([])
      .when({ type: 'add', payload: { title: ' Domain-Driven Design ', authorId } })
      .then([added]);
    expect(Book.replay([added]).snapshot.context).toEqual({ title: 'Domain-Driven Design', authorId });
  });

  it('rejects adding the same book twice', () => {
    spec([added])
      .when({ type: 'add', payload: { title: 'Another', authorId } })
      .then({ status: 'rejected', reason: 'This book was already added' });
  });

  it.each([
    ['no title', { title: '', authorId }],
    ['a title of 201 characters', { title: 't'.repeat(201), authorId }],
    ['an author id that is no UUID', { title: 'Domain-Driven Design', authorId: 'ben' }],
  ])('refuses %s as a validation error', (_what, payload) => {
    spec([]).when({ type: 'add', payload }).thenThrows('VALIDATION_FAILED');
  });

  it('needs an author', () => {
    spec([])
      // @ts-expect-error -- a book without its author's id does not compile, and fails validation at run time.
      .when({ type: 'add', payload: { title: 'Anonymous' } })
      .thenThrows('VALIDATION_FAILED');
  });
});
