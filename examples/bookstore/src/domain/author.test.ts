import { given } from '@ratchet/testing';
import { FORGOTTEN, sensitiveFieldsOf } from '@ratchet/core';
import { describe, expect, it } from 'vitest';
import { Author } from './author.js';

const spec = given(Author);
const added = { type: 'authorAdded', data: { name: 'Ben', email: 'ben@sequent.io' } } as const;

describe("author rules (Sequent's AddAuthor)", () => {
  it('adds an author with a name and an e-mail address, both trimmed', () => {
    spec([])
      .when({ type: 'add', payload: { name: ' Ben ', email: ' ben@sequent.io' } })
      .then([added]);
    const state = Author.replay([added]);
    expect(state.snapshot.value).toBe('added');
    expect(state.snapshot.context).toEqual({ name: 'Ben', email: 'ben@sequent.io' });
  });

  it('keeps the address as typed (case included): only its claim is normalized', () => {
    spec([])
      .when({ type: 'add', payload: { name: 'Ben', email: 'Ben@Sequent.io' } })
      .then([{ type: 'authorAdded', data: { name: 'Ben', email: 'Ben@Sequent.io' } }]);
  });

  it('rejects adding the same author twice', () => {
    spec([added])
      .when({ type: 'add', payload: { name: 'Ben', email: 'ben@sequent.io' } })
      .then({ status: 'rejected', reason: 'This author was already added' });
  });

  it.each([
    ['no name', { name: '', email: 'ben@sequent.io' }],
    ['a blank name', { name: '   ', email: 'ben@sequent.io' }],
    ['a name of 101 characters', { name: 'x'.repeat(101), email: 'ben@sequent.io' }],
    ['no e-mail address', { name: 'Ben', email: '' }],
    ['something that is no e-mail address', { name: 'Ben', email: 'ben at sequent' }],
    ['an address of 255 characters', { name: 'Ben', email: `${'b'.repeat(244)}@sequent.io` }],
  ])('refuses %s as a validation error', (_what, payload) => {
    spec([]).when({ type: 'add', payload }).thenThrows('VALIDATION_FAILED');
  });

  it('refuses fields it does not know', () => {
    spec([])
      // @ts-expect-error -- the typed spec refuses an unknown field at compile time; at run time, the strict schema does.
      .when({ type: 'add', payload: { name: 'Ben', email: 'ben@sequent.io', admin: true } })
      .thenThrows('VALIDATION_FAILED');
  });

  it('a spec with the wrong expectation fails', () => {
    expect(() =>
      spec([])
        .when({ type: 'add', payload: { name: 'Ben', email: 'ben@sequent.io' } })
        .then({ status: 'rejected' }),
    ).toThrow();
  });
});

describe('forget me (issue 16)', () => {
  const forgotten = { type: 'authorForgotten', data: {} } as const;

  it('records the forget of an added author, whose address then reads as the placeholder', () => {
    spec([added]).when({ type: 'forget', payload: {} }).then([forgotten]);
    const state = Author.replay([added, forgotten]);
    expect(state.snapshot.value).toBe('forgotten');
    expect(state.snapshot.context).toEqual({ name: 'Ben', email: FORGOTTEN });
  });

  it('does nothing for an author forgotten already, and refuses one never added', () => {
    spec([added, forgotten]).when({ type: 'forget', payload: {} }).then([]);
    spec([]).when({ type: 'forget', payload: {} }).then({ status: 'rejected', reason: 'There is no such author' });
  });

  it('folds an added event whose address was forgotten (its placeholder is no address) and stays forgotten', () => {
    const state = Author.replay([{ type: 'authorAdded', data: { name: 'Ben', email: FORGOTTEN } }, forgotten]);
    expect(state.snapshot.context).toEqual({ name: 'Ben', email: FORGOTTEN });
    spec([added, forgotten])
      .when({ type: 'add', payload: { name: 'Ben', email: 'ben@sequent.io' } })
      .then({ status: 'rejected', reason: 'This author was already added' });
  });

  it('marks the stored address as personal data of the author, and nothing else', () => {
    expect(
      sensitiveFieldsOf(Author.events.authorAdded).map((f) => [
        f.path,
        f.subject({}, { aggregateType: 'author', aggregateId: 'a-1', eventType: 'authorAdded' }),
      ]),
    ).toEqual([[['email'], 'a-1']]);
    expect(sensitiveFieldsOf(Author.commands.add)).toEqual([]);
  });
});
