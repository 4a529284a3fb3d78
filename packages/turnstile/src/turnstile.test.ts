import { given } from '@ratchet/testing';
import { describe, expect, it } from 'vitest';
import { Turnstile } from './turnstile.js';

const spec = given(Turnstile);

const installed = { type: 'installed', data: {} } as const;
const coinInserted = { type: 'coinInserted', data: {} } as const;
const armTurned = { type: 'armTurned', data: {} } as const;
const armPushedIneffectively = { type: 'armPushedIneffectively', data: {} } as const;

describe('turnstile rules', () => {
  it('installs a new turnstile', () => {
    spec([]).when({ type: 'install' }).then([installed]);
  });

  it('rejects installing twice', () => {
    spec([installed])
      .when({ type: 'install' })
      .then({ status: 'rejected', reason: /already installed/ });
  });

  it('rejects a coin before install', () => {
    spec([])
      .when({ type: 'insertCoin' })
      .then({ status: 'rejected', reason: /not installed/ });
  });

  it('rejects a push before install', () => {
    spec([])
      .when({ type: 'pushArm' })
      .then({ status: 'rejected', reason: /not installed/ });
  });

  it('counts a coin and unlocks', () => {
    spec([installed]).when({ type: 'insertCoin' }).then([coinInserted]);
    const state = Turnstile.replay([installed, coinInserted]);
    expect(state.snapshot.value).toBe('unlocked');
    expect(state.snapshot.context).toEqual({ coins: 1, turns: 0, pushes: 0 });
  });

  it('counts a coin when already unlocked', () => {
    spec([installed, coinInserted]).when({ type: 'insertCoin' }).then([coinInserted]);
    const state = Turnstile.replay([installed, coinInserted, coinInserted]);
    expect(state.snapshot.value).toBe('unlocked');
    expect(state.snapshot.context).toEqual({ coins: 2, turns: 0, pushes: 0 });
  });

  it('pushing a locked arm is ineffective but counted', () => {
    spec([installed]).when({ type: 'pushArm' }).then([armPushedIneffectively]);
    const state = Turnstile.replay([installed, armPushedIneffectively]);
    expect(state.snapshot.value).toBe('locked');
    expect(state.snapshot.context).toEqual({ coins: 0, turns: 0, pushes: 1 });
  });

  it('pushing an unlocked arm turns it and locks again', () => {
    spec([installed, coinInserted]).when({ type: 'pushArm' }).then([armTurned]);
    const state = Turnstile.replay([installed, coinInserted, armTurned]);
    expect(state.snapshot.value).toBe('locked');
    expect(state.snapshot.context).toEqual({ coins: 1, turns: 1, pushes: 1 });
  });

  it('rejects a payload with unknown fields as a validation error', () => {
    spec([installed])
      // @ts-expect-error -- the typed spec refuses this payload at compile time; at run time, decide does.
      .when({ type: 'insertCoin', payload: { amount: 5 } })
      .thenThrows('VALIDATION_FAILED');
  });

  it('rejects an unknown command as UNKNOWN_COMMAND', () => {
    // @ts-expect-error -- "kick" is no turnstile command: a compile error, and UNKNOWN_COMMAND at run time.
    spec([installed]).when({ type: 'kick' }).thenThrows('UNKNOWN_COMMAND');
  });

  it('a spec with the wrong expectation fails', () => {
    expect(() => spec([]).when({ type: 'install' }).then([coinInserted])).toThrow();
    expect(() => spec([]).when({ type: 'install' }).then({ status: 'rejected' })).toThrow();
  });
});
