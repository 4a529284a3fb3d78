// A small aggregate with durable timers for the timer tests: a technician visit that escalates when
// no report comes within `visitTimeoutMs` (a statechart `after`), and re-opens `reopenMs` after an
// escalation; `remind` schedules a `report` command for later (decide's schedule()).
import { defineAggregate, reject, schedule, type DomainEvent } from '@ratchet/core';
import { assign, setup } from 'xstate';
import { z } from 'zod';

const empty = z.object({}).strict();

/** A visit aggregate with the given delays (ms). */
export function defineVisit(options: { visitTimeoutMs: number; reopenMs?: number; remindMs?: number }) {
  const machine = setup({
    types: { context: {} as { escalations: number; reports: number; reminders: number }, events: {} as DomainEvent },
    delays: { visitTimeout: options.visitTimeoutMs, reopen: options.reopenMs ?? 3_600_000 },
  }).createMachine({
    id: 'visit',
    initial: 'idle',
    context: { escalations: 0, reports: 0, reminders: 0 },
    on: { reminderSet: { actions: assign({ reminders: ({ context }) => context.reminders + 1 }) } },
    states: {
      idle: { on: { called: 'visiting' } },
      visiting: {
        after: { visitTimeout: { target: 'escalated', actions: assign({ escalations: ({ context }) => context.escalations + 1 }) } },
        on: { reported: { target: 'idle', actions: assign({ reports: ({ context }) => context.reports + 1 }) } },
      },
      escalated: {
        after: { reopen: 'visiting' },
        on: { reported: { target: 'idle', actions: assign({ reports: ({ context }) => context.reports + 1 }) } },
      },
    },
  });
  return defineAggregate({
    type: 'visit',
    machine,
    commands: { call: empty, report: empty, remind: empty },
    events: { called: empty, reported: empty, reminderSet: empty },
    decide: {
      call: (_p, s) => (s.matches('idle') ? [{ type: 'called', data: {} }] : reject('already called')),
      report: (_p, s) => (s.matches('idle') ? reject('nothing to report') : [{ type: 'reported', data: {} }]),
      remind: () => [
        { type: 'reminderSet', data: {} },
        schedule({ type: 'report', payload: {} }, { afterMs: options.remindMs ?? 1_000 }, 'reminder'),
      ],
    },
  });
}

/** The stored type of the visit's timeout firing (XState's after-event). */
export const VISIT_TIMEOUT_EVENT = 'xstate.after.visitTimeout.visit.visiting';
