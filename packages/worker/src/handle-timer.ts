import { ErrorCode, RatchetError, type Decision, type EventMetadata, type ParsedCommand, type TimerEffects } from '@ratchet/core';
import type { AppendRequest, StoredTimer, TimerStore } from '@ratchet/event-store-postgres';
import type { AggregateActor } from './aggregate-actor.js';
import { newEvents, noteTimersStarted, type CommandHandlerContext } from './handle-command.js';

/** What a fire did: appended its events, found nothing to do, or could not run now (retried later). */
export type TimerOutcome = 'fired' | 'no-op' | 'superseded' | 'not-owner' | 'failed';

/** What firing a timer needs beyond what handling a command does: reading and removing timers. */
export interface TimerHandlerContext extends CommandHandlerContext {
  readonly timers: Pick<TimerStore, 'readTimer' | 'deleteTimer'>;
}

const MAX_INTERNAL_RETRIES = 3;

/**
 * Fire one due timer on its actor, in a straight line: lease → load → is it still this start →
 * decide (a statechart delay: does the machine still take it; a scheduled command: decide it) →
 * append the events with the timer's effects, or remove the timer when there is nothing to do.
 * The append's command id is derived from the timer's start, so a fire retried after a crash or by
 * the next owner commits at most once; the timer row goes in the same transaction as the events.
 */
export async function handleTimer(context: TimerHandlerContext, actor: AggregateActor, timer: StoredTimer): Promise<TimerOutcome> {
  const fence = context.ownership.fenceFor(actor.partition);
  // Not ours, or our memory may be stale: the owner with a lease fires it.
  if (fence === undefined || !context.ownership.holds(actor.partition)) return 'not-owner';
  const commandId = `${timer.kind === 'delay' ? 'timer' : 'schedule'}:${timer.streamId}:${timer.timerId}:${timer.startedVersion}`;
  for (let attempt = 0; ; attempt += 1) {
    actor.state ??= await context.activation.load(actor);
    const state = actor.state;

    // Any change to the timer comes with an append to its stream: at the version it was started
    // at, the row the scheduler read is current; past it, read it again.
    if (state.version !== timer.startedVersion) {
      const current = await context.timers.readTimer(timer.streamId, timer.timerId);
      if (current === null || current.startedVersion !== timer.startedVersion) return 'superseded';
    }

    const decision = decideTimer(actor, timer, state);
    if (decision.status === 'rejected' || decision.events.length === 0) {
      // The state was left (a guarded or stale delay) or the scheduled command was refused: spent.
      await context.timers.deleteTimer(timer.streamId, timer.timerId, timer.startedVersion);
      return 'no-op';
    }
    const effects = spent(timer.timerId, decision.timers);
    const metadata: EventMetadata = {
      commandId,
      correlationId: commandId,
      causationId: `${timer.streamId}@${timer.startedVersion}`,
      timer: { id: timer.timerId, kind: timer.kind, startedVersion: timer.startedVersion, dueAt: timer.dueAt.toISOString() },
    };
    const append: AppendRequest = {
      streamId: actor.streamId,
      expectedVersion: state.version,
      events: newEvents(actor, decision.events, effects),
      commandId,
      metadata,
      fence,
      timers: effects,
    };
    const outcome = await context.committer.submit(append);
    if (outcome.ok) {
      if (outcome.result.duplicate) {
        if (outcome.result.version > state.version) actor.state = undefined;
      } else {
        actor.state = decision.state;
        context.activation.snapshotIfDue(actor, decision.state);
        noteTimersStarted(context, decision.timers);
      }
      return 'fired';
    }
    const error = outcome.error;
    if (error.code === ErrorCode.VERSION_CONFLICT && attempt < MAX_INTERNAL_RETRIES) {
      actor.state = undefined;
      continue;
    }
    if (error.code === ErrorCode.FENCED) context.onFenced(actor.partition, error);
    if (error.code === ErrorCode.STORE_UNAVAILABLE) actor.state = undefined;
    return 'failed';
  }
}

/** The decision a due timer makes on `state`. */
function decideTimer(actor: AggregateActor, timer: StoredTimer, state: NonNullable<AggregateActor['state']>): Decision {
  const runtime = actor.aggregate.runtime;
  if (timer.kind === 'delay') {
    const event = timer.body.event;
    if (event === undefined) throw new RatchetError(ErrorCode.INTERNAL, `timer ${timer.timerId} of ${timer.streamId} has no event`);
    return runtime.fireDelay(state, { id: timer.timerId, event });
  }
  const command = timer.body.command;
  if (command === undefined) throw new RatchetError(ErrorCode.INTERNAL, `timer ${timer.timerId} of ${timer.streamId} has no command`);
  let parsed: ParsedCommand;
  try {
    parsed = runtime.parseCommand(command);
  } catch (error) {
    // The aggregate no longer has this command or accepts its payload: nothing can run it.
    if (error instanceof RatchetError) return { status: 'rejected', reason: error.message };
    throw error;
  }
  return runtime.decideParsed(parsed, state, actor.id);
}

/** The decision's timer effects, with the fired timer removed unless the decision started it again. */
function spent(timerId: string, timers: TimerEffects): TimerEffects {
  if (timers.start.some((t) => t.id === timerId) || timers.cancel.includes(timerId)) return timers;
  return { start: timers.start, cancel: [...timers.cancel, timerId] };
}
