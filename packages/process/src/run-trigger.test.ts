import { Turnstile } from '@ratchet/turnstile';
import { describe, expect, it } from 'vitest';
import { Alarm, pushWatch } from '../test/fixtures/alarm.js';
import { defineProcess } from './define-process.js';
import { command } from './process-command.js';
import { toProcessEvent } from './process-event.js';
import { runTrigger, type CommandAnswer, type Dispatch, type Unanswered } from './run-trigger.js';
import { eventsOf } from './subscription.js';

const event = (aggregateId: string, type: string, version: number) =>
  toProcessEvent({
    streamId: `turnstile/${aggregateId}`,
    version,
    type,
    data: {},
    schemaVersion: 1,
    metadata: {},
    globalPosition: version,
    transactionId: '1',
    recordedAt: new Date(0),
    epoch: null,
  });

/** A dispatch that answers from a script and records what was sent. */
function scripted(answer: (commandId: string) => CommandAnswer | Unanswered) {
  const sent: string[] = [];
  const dispatch: Dispatch = async (commandId) => {
    sent.push(commandId);
    return answer(commandId);
  };
  return { sent, dispatch };
}

const ok: CommandAnswer = { outcome: 'ok', version: 1 };

describe('runTrigger', () => {
  it('threads the state through handle and sends nothing until the third push in a row', async () => {
    const { sent, dispatch } = scripted(() => ok);
    let state = JSON.stringify(pushWatch.initialState);
    for (const [v, type] of [
      [1, 'armPushedIneffectively'],
      [2, 'armPushedIneffectively'],
      [3, 'coinInserted'],
      [4, 'armPushedIneffectively'],
      [5, 'armPushedIneffectively'],
    ] as const) {
      const r = await runTrigger(pushWatch, event('north-1', type, v), state, dispatch, { maxRounds: 8 });
      expect(r.kind).toBe('handled');
      if (r.kind === 'handled') state = r.state;
    }
    expect(sent).toEqual([]);
    expect(JSON.parse(state)).toEqual({ pushes: 2, raised: 0, refused: 0 });
    const third = await runTrigger(pushWatch, event('north-1', 'armPushedIneffectively', 6), state, dispatch, { maxRounds: 8 });
    expect(third).toEqual({
      kind: 'handled',
      state: JSON.stringify({ pushes: 0, raised: 1, refused: 0 }),
      commands: [
        {
          commandId: 'proc:push-watch:turnstile:north-1:6:raise',
          command: {
            aggregateType: 'alarm',
            aggregateId: 'north',
            command: { type: 'raise', payload: { turnstileId: 'north-1' } },
            step: 'raise',
          },
          round: 1,
          answer: ok,
        },
      ],
    });
    expect(sent).toEqual(['proc:push-watch:turnstile:north-1:6:raise']);
  });

  it('hands a rejection to onRejected with the command, its id, reason and trigger', async () => {
    const { dispatch } = scripted(() => ({ outcome: 'rejected', reason: 'alarm already ringing', version: 4 }));
    const state = JSON.stringify({ pushes: 2, raised: 0, refused: 0 });
    const r = await runTrigger(pushWatch, event('north-1', 'armPushedIneffectively', 9), state, dispatch, { maxRounds: 8 });
    expect(r.kind === 'handled' && JSON.parse(r.state)).toEqual({ pushes: 0, raised: 1, refused: 1 });
    expect(r.commands[0]!.answer).toEqual({ outcome: 'rejected', reason: 'alarm already ringing', version: 4 });
  });

  it('sends compensation in later rounds, with their own steps, and stops at the round limit', async () => {
    const escalating = defineProcess({
      name: 'escalating',
      subscribe: [eventsOf(Turnstile, 'armTurned')],
      initialState: { tries: 0 },
      handle: (e) => ({ commands: [command(Alarm, 'a', { type: 'raise', payload: { turnstileId: e.aggregateId } }, 'raise-0')] }),
      onRejected: (_rejection, state) => ({
        state: { tries: state.tries + 1 },
        commands: [command(Alarm, 'a', { type: 'raise', payload: { turnstileId: 'x' } }, `raise-${state.tries + 1}`)],
      }),
    });
    const rejectUntil = (n: number) =>
      scripted((id) => (Number(id.slice(id.lastIndexOf('-') + 1)) < n ? { outcome: 'rejected', reason: 'no', version: 1 } : ok));
    const two = rejectUntil(2);
    const r = await runTrigger(escalating, event('t', 'armTurned', 1), '{"tries":0}', two.dispatch, { maxRounds: 8 });
    expect(r.kind === 'handled' && r.state).toBe('{"tries":2}');
    expect(r.commands.map((c) => [c.command.step, c.round, c.answer.outcome])).toEqual([
      ['raise-0', 1, 'rejected'],
      ['raise-1', 2, 'rejected'],
      ['raise-2', 3, 'ok'],
    ]);
    const never = rejectUntil(100);
    const parked = await runTrigger(escalating, event('t', 'armTurned', 1), '{"tries":0}', never.dispatch, { maxRounds: 3 });
    expect(parked).toMatchObject({ kind: 'parked', reason: 'handler-failed', error: 'onRejected kept sending commands past 3 rounds' });
  });

  it('parks an event whose handler throws, whose command is malformed or reuses a step, or goes unanswered', async () => {
    const make = (handle: () => unknown) =>
      defineProcess({ name: 'bad', subscribe: [eventsOf(Turnstile, 'armTurned')], initialState: 0, handle: handle as never });
    const { dispatch } = scripted(() => ok);
    const run = (p: ReturnType<typeof make>, d: Dispatch = dispatch) => runTrigger(p, event('t', 'armTurned', 1), '0', d, { maxRounds: 8 });
    expect(
      await run(
        make(() => {
          throw new Error('boom');
        }),
      ),
    ).toMatchObject({ kind: 'parked', reason: 'handler-failed', error: 'handle threw Error: boom' });
    expect(await run(make(() => undefined))).toMatchObject({ kind: 'parked', reason: 'handler-failed' });
    expect(await run(make(() => ({ state: 1n })))).toMatchObject({ kind: 'parked', reason: 'handler-failed' });
    const cmd = (step: string, aggregateId = 'a') => ({ aggregateType: 'alarm', aggregateId, command: { type: 'clear' }, step });
    expect(await run(make(() => ({ commands: [cmd('s'), cmd('s')] })))).toMatchObject({
      kind: 'parked',
      reason: 'invalid-command',
      error: 'a command step "s" is used twice for one event (steps make the command ids)',
    });
    expect(await run(make(() => ({ commands: [cmd('has space')] })))).toMatchObject({ kind: 'parked', reason: 'invalid-command' });
    expect(await run(make(() => ({ commands: [cmd('s', 'a.b')] })))).toMatchObject({ kind: 'parked', reason: 'invalid-command' });
    const silent = scripted(() => ({ outcome: 'unanswered', reason: 'no definite answer after 3 sends' }));
    expect(
      await run(
        make(() => ({ commands: [cmd('s')] })),
        silent.dispatch,
      ),
    ).toMatchObject({ kind: 'parked', reason: 'unanswered', error: 'no definite answer after 3 sends' });
  });

  it('gives every handler its own copy of the state', async () => {
    const mutating = defineProcess({
      name: 'mutating',
      subscribe: [eventsOf(Turnstile, 'armTurned')],
      initialState: { seen: [] as number[] },
      handle: (e, state) => {
        state.seen.push(e.version); // mutates its input: must not leak into what is stored
        return {};
      },
    });
    const r = await runTrigger(mutating, event('t', 'armTurned', 1), '{"seen":[]}', scripted(() => ok).dispatch, { maxRounds: 8 });
    expect(r.kind === 'handled' && r.state).toBe('{"seen":[]}');
  });
});
