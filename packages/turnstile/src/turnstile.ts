import { defineAggregate, reject, type EventUnion } from '@ratchet/core';
import { assign, setup } from 'xstate';
import { z } from 'zod';

const noPayload = z.object({}).strict();

/** Zod schemas of the turnstile's events (all carry no data: the event type is the fact). */
export const turnstileEvents = {
  installed: noPayload,
  coinInserted: noPayload,
  armTurned: noPayload,
  armPushedIneffectively: noPayload,
};

/** Zod schemas of the turnstile's commands. */
export const turnstileCommands = {
  install: noPayload,
  insertCoin: noPayload,
  pushArm: noPayload,
};

/** A turnstile domain event. */
export type TurnstileEvent = EventUnion<typeof turnstileEvents>;

/** What a turnstile remembers. */
export interface TurnstileContext {
  readonly coins: number;
  readonly turns: number;
  readonly pushes: number;
}

/** The turnstile statechart: not-installed → locked ⇄ unlocked, driven only by domain events. */
export const turnstileMachine = setup({
  types: { context: {} as TurnstileContext, events: {} as TurnstileEvent },
}).createMachine({
  id: 'turnstile',
  initial: 'not-installed',
  context: { coins: 0, turns: 0, pushes: 0 },
  states: {
    'not-installed': {
      on: { installed: { target: 'locked', actions: assign({ coins: 0, turns: 0, pushes: 0 }) } },
    },
    locked: {
      on: {
        coinInserted: { target: 'unlocked', actions: assign({ coins: ({ context }) => context.coins + 1 }) },
        armPushedIneffectively: { actions: assign({ pushes: ({ context }) => context.pushes + 1 }) },
      },
    },
    unlocked: {
      on: {
        coinInserted: { actions: assign({ coins: ({ context }) => context.coins + 1 }) },
        armTurned: {
          target: 'locked',
          actions: assign({
            turns: ({ context }) => context.turns + 1,
            pushes: ({ context }) => context.pushes + 1,
          }),
        },
      },
    },
  },
});

/**
 * The turnstile of rill.wheel's docs: install it, insert a coin to unlock, push the arm to pass.
 * @example
 * const decision = Turnstile.decide({ type: 'install', payload: {} }, Turnstile.initialState());
 */
export const Turnstile = defineAggregate({
  type: 'turnstile',
  machine: turnstileMachine,
  commands: turnstileCommands,
  events: turnstileEvents,
  decide: {
    install: (_payload, state) =>
      state.matches('not-installed') ? [{ type: 'installed', data: {} }] : reject('Turnstile already installed'),
    insertCoin: (_payload, state) =>
      state.matches('not-installed') ? reject('Turnstile not installed') : [{ type: 'coinInserted', data: {} }],
    pushArm: (_payload, state) => {
      if (state.matches('not-installed')) return reject('Turnstile not installed');
      if (state.matches('locked')) return [{ type: 'armPushedIneffectively', data: {} }];
      return [{ type: 'armTurned', data: {} }];
    },
  },
});

/** The turnstile aggregate's type. */
export type TurnstileAggregate = typeof Turnstile;
