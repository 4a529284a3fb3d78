// A small aggregate with payloads worth validating (the turnstile's commands carry none).
import { defineAggregate, reject, type EventUnion } from '@ratchet/core';
import { assign, setup } from 'xstate';
import { z } from 'zod';

const counterEvents = {
  added: z.object({ n: z.number().int() }),
  cleared: z.object({}).strict(),
};

type CounterEvent = EventUnion<typeof counterEvents>;

const counterMachine = setup({ types: { context: {} as { total: number }, events: {} as CounterEvent } }).createMachine({
  id: 'counter',
  context: { total: 0 },
  on: {
    added: { actions: assign({ total: ({ context, event }) => context.total + event.data.n }) },
    cleared: { actions: assign({ total: 0 }) },
  },
});

/** `add` takes `{ n: positive integer, note?: string of at most 10 }`; `clear` takes nothing and is refused at 0. */
export const Counter = defineAggregate({
  type: 'counter',
  machine: counterMachine,
  commands: {
    add: z.object({ n: z.number().int().positive(), note: z.string().max(10).optional() }),
    clear: z.object({}).strict(),
  },
  events: counterEvents,
  decide: {
    add: ({ n }) => [{ type: 'added', data: { n } }],
    clear: (_payload, state) => (state.context.total === 0 ? reject('nothing to clear') : [{ type: 'cleared', data: {} }]),
  },
});
