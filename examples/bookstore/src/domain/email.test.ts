import { given } from '@ratchet/testing';
import { describe, expect, it } from 'vitest';
import { EMAIL_TAKEN, Email } from './email.js';

const spec = given(Email);
const ben = 'a8b1a534-f50b-4173-a73b-5b4a8bbcdd12';
const kim = '85507d60-8645-4a8a-bdb8-3a9c86a0c635';

describe('email claim rules', () => {
  it('claims a free address for an author', () => {
    spec([])
      .when({ type: 'claim', payload: { authorId: ben } })
      .then([{ type: 'emailClaimed', data: { authorId: ben } }]);
  });

  it("rejects another author's claim of a claimed address, with the message the form shows", () => {
    spec([{ type: 'emailClaimed', data: { authorId: ben } }])
      .when({ type: 'claim', payload: { authorId: kim } })
      .then({ status: 'rejected', reason: EMAIL_TAKEN });
  });

  it('accepts the same author claiming again, writing nothing (a resent form)', () => {
    spec([{ type: 'emailClaimed', data: { authorId: ben } }])
      .when({ type: 'claim', payload: { authorId: ben } })
      .then([]);
  });

  it('releases an address for the author holding it, after which another author may claim it', () => {
    const claimed = { type: 'emailClaimed', data: { authorId: ben } } as const;
    const released = { type: 'emailReleased', data: { authorId: ben } } as const;
    spec([claimed])
      .when({ type: 'release', payload: { authorId: ben } })
      .then([released]);
    spec([claimed, released])
      .when({ type: 'claim', payload: { authorId: kim } })
      .then([{ type: 'emailClaimed', data: { authorId: kim } }]);
    expect(Email.replay([claimed, released]).snapshot.value).toBe('free');
  });

  it('refuses a release by another author, or of a free address', () => {
    spec([{ type: 'emailClaimed', data: { authorId: ben } }])
      .when({ type: 'release', payload: { authorId: kim } })
      .then({ status: 'rejected', reason: /Only the author holding/ });
    spec([])
      .when({ type: 'release', payload: { authorId: ben } })
      .then({ status: 'rejected', reason: /not claimed/ });
  });

  it('refuses an author id that is not a UUID as a validation error', () => {
    spec([])
      .when({ type: 'claim', payload: { authorId: 'ben' } })
      .thenThrows('VALIDATION_FAILED');
  });

  it('has no command but claim and release', () => {
    spec([])
      // @ts-expect-error -- "take" is no email command: a compile error, and UNKNOWN_COMMAND at run time.
      .when({ type: 'take', payload: { authorId: ben } })
      .thenThrows('UNKNOWN_COMMAND');
  });

  it('keeps the address out of its events: they name the author only', () => {
    expect(Object.keys(Email.events.emailClaimed.shape)).toEqual(['authorId']);
    expect(Object.keys(Email.events.emailReleased.shape)).toEqual(['authorId']);
  });
});
