import { given } from '@ratchet/testing';
import { describe, expect, it } from 'vitest';
import { Turnstile } from './turnstile.js';

const installed = { type: 'installed', data: {} };
const coinInserted = { type: 'coinInserted', data: {} };
const armTurned = { type: 'armTurned', data: {} };
const armPushedIneffectively = { type: 'armPushedIneffectively', data: {} };

describe('turnstile rules', () => {
  it('installs a new turnstile', () => {
    given(Turnstile, []).when({ type: 'install' }).then([installed]);
  });

  it('rejects installing twice', () => {
    given(Turnstile, [installed]).when({ type: 'install' }).then({ rejected: true, reason: /already installed/ });
  });

  it('rejects a coin before install', () => {
    given(Turnstile, []).when({ type: 'insertCoin' }).then({ rejected: true, reason: /not installed/ });
  });

  it('rejects a push before install', () => {
    given(Turnstile, []).when({ type: 'pushArm' }).then({ rejected: true, reason: /not installed/ });
  });

  it('counts a coin and unlocks', () => {
    given(Turnstile, [installed]).when({ type: 'insertCoin' }).then([coinInserted]);
    const state = Turnstile.replay([installed, coinInserted]);
    expect(state.snapshot.value).toBe('unlocked');
    expect(state.snapshot.context).toEqual({ coins: 1, turns: 0, pushes: 0 });
  });

  it('counts a coin when already unlocked', () => {
    given(Turnstile, [installed, coinInserted]).when({ type: 'insertCoin' }).then([coinInserted]);
    const state = Turnstile.replay([installed, coinInserted, coinInserted]);
    expect(state.snapshot.value).toBe('unlocked');
    expect(state.snapshot.context).toEqual({ coins: 2, turns: 0, pushes: 0 });
  });

  it('pushing a locked arm is ineffective but counted', () => {
    given(Turnstile, [installed]).when({ type: 'pushArm' }).then([armPushedIneffectively]);
    const state = Turnstile.replay([installed, armPushedIneffectively]);
    expect(state.snapshot.value).toBe('locked');
    expect(state.snapshot.context).toEqual({ coins: 0, turns: 0, pushes: 1 });
  });

  it('pushing an unlocked arm turns it and locks again', () => {
    given(Turnstile, [installed, coinInserted]).when({ type: 'pushArm' }).then([armTurned]);
    const state = Turnstile.replay([installed, coinInserted, armTurned]);
    expect(state.snapshot.value).toBe('locked');
    expect(state.snapshot.context).toEqual({ coins: 1, turns: 1, pushes: 1 });
  });

  it('rejects a payload with unknown fields as a validation error', () => {
    given(Turnstile, [installed]).when({ type: 'insertCoin', payload: { amount: 5 } }).thenThrows('VALIDATION_FAILED');
  });

  it('rejects an unknown command as UNKNOWN_COMMAND', () => {
    given(Turnstile, [installed]).when({ type: 'kick' }).thenThrows('UNKNOWN_COMMAND');
  });

  it('a spec with the wrong expectation fails', () => {
    expect(() => given(Turnstile, []).when({ type: 'install' }).then([coinInserted])).toThrow();
    expect(() => given(Turnstile, []).when({ type: 'install' }).then({ rejected: true })).toThrow();
  });
});
