import { ErrorCode, RatchetError, type DomainEvent, type EventMetadata, type NewEvent, type ParsedCommand, type RecordedEvent, type TimerEffects } from '@ratchet/core';
import type { AppendOutcome, AppendRequest, AppendResult, PostgresEventStore } from '@ratchet/event-store-postgres';
import { errorReply, type CommandReply, type CommandRequest } from '@ratchet/transport-nats';
import type { ActorActivation } from './actor-activation.js';
import type { AggregateActor } from './aggregate-actor.js';
import { CrashPoint, crashPoint } from './crash-point.js';
import type { PartitionOwnership } from './ownership.js';

/** A command that passed intake: its envelope, its validated payload, its request hash and the metadata its events carry. */
export interface AdmittedCommand {
  readonly request: CommandRequest;
  readonly command: ParsedCommand;
  /** `requestHash` of the request: a command id reused for another command is refused. */
  readonly hash: string;
  readonly metadata: EventMetadata;
}

/** What handling a command needs from the worker: ownership, state, the committer and the store's command log. */
export interface CommandHandlerContext {
  readonly ownership: Pick<PartitionOwnership, 'fenceFor' | 'holds'>;
  readonly activation: Pick<ActorActivation, 'load' | 'snapshotIfDue'>;
  readonly committer: { submit(request: AppendRequest): Promise<AppendOutcome> };
  readonly store: Pick<PostgresEventStore, 'findCommand'>;
  /** The partition's lease had lapsed: the command was refused. */
  readonly onLeaseRefused: (partition: number) => void;
  /** An append was fenced: another worker owns the partition now. */
  readonly onFenced: (partition: number, error: RatchetError) => void;
  /** A commit started durable timers; the soonest is due in `dueInMs` (the timer scheduler may need to wake earlier). */
  readonly onTimersStarted: (dueInMs: number) => void;
}

/** Re-decisions after an append found the stream ahead of the actor's state. */
const MAX_INTERNAL_RETRIES = 3;

/**
 * Handle one command on its actor, in a straight line: lease → load → expected version → decide →
 * append → answer (and retry after a conflict). No transport here: the caller parsed the request
 * and sends the reply. Runs in the actor's mailbox, one command at a time per aggregate.
 *
 * Every definite answer is computed from the actor's in-memory state or from the store. Memory is
 * the store's state only while no other worker can have claimed the partition, which is what the
 * lease says: it is checked first, when the state is read, after the request arrived (guarantee 3).
 */
export async function handleCommand(context: CommandHandlerContext, actor: AggregateActor, admitted: AdmittedCommand): Promise<CommandReply> {
  const { request, command, hash, metadata } = admitted;
  const fence = context.ownership.fenceFor(actor.partition);
  if (fence === undefined) {
    throw new RatchetError(ErrorCode.UNAVAILABLE, `partition ${actor.partition} is not served by this worker now`);
  }
  if (!context.ownership.holds(actor.partition)) {
    context.onLeaseRefused(actor.partition);
    throw new RatchetError(ErrorCode.UNAVAILABLE, `partition ${actor.partition}'s lease has lapsed on this worker; retry`, {
      details: { partition: actor.partition, reason: 'lease-lapsed' },
    });
  }
  for (let attempt = 0; ; attempt += 1) {
    actor.state ??= await context.activation.load(actor);
    const state = actor.state;

    if (request.expectedVersion !== undefined && request.expectedVersion !== state.version) {
      // A retry of a command that already committed must get its first answer, not a conflict.
      return (await firstAnswer(context, request.commandId, hash)) ?? conflictReply(actor.streamId, request.expectedVersion, state.version);
    }

    const decision = actor.aggregate.runtime.decideParsed(command, state, actor.id);
    if (decision.status === 'rejected') {
      return (await firstAnswer(context, request.commandId, hash)) ?? { status: 'rejected', reason: decision.reason, version: state.version };
    }
    if (decision.events.length === 0) return { status: 'ok', version: state.version, events: [], duplicate: false };

    const append: AppendRequest = {
      streamId: actor.streamId,
      expectedVersion: state.version,
      events: newEvents(actor, decision.events, decision.timers),
      commandId: request.commandId,
      requestHash: hash,
      metadata,
      fence,
      timers: decision.timers,
    };
    crashPoint(CrashPoint.BEFORE_COMMIT);
    const outcome = await context.committer.submit(append);

    if (outcome.ok) {
      if (outcome.result.duplicate) {
        // Our decision is discarded; the stored events may be ones this actor has not folded.
        if (outcome.result.version > state.version) actor.state = undefined;
      } else {
        actor.state = decision.state;
        context.activation.snapshotIfDue(actor, decision.state);
        noteTimersStarted(context, decision.timers);
      }
      return okReply(outcome.result);
    }
    const error = outcome.error;
    if (error.code === ErrorCode.VERSION_CONFLICT && attempt < MAX_INTERNAL_RETRIES) {
      // Our in-memory state was behind the store (another writer before a handover): reload, decide again.
      actor.state = undefined;
      continue;
    }
    if (error.code === ErrorCode.FENCED) context.onFenced(actor.partition, error);
    if (error.code === ErrorCode.STORE_UNAVAILABLE) actor.state = undefined;
    return errorReply(error);
  }
}

/** The first answer of a command id the store already holds, or undefined when it never committed. */
async function firstAnswer(context: CommandHandlerContext, commandId: string, hash: string): Promise<CommandReply | undefined> {
  const first = await context.store.findCommand(commandId);
  if (first === null) return undefined;
  if (first.requestHash !== null && first.requestHash !== hash) {
    return errorReply(new RatchetError(ErrorCode.COMMAND_ID_REUSED, `command id ${commandId} was used for another command`));
  }
  return okReply({ ...first.result, duplicate: true });
}

function conflictReply(streamId: string, expectedVersion: number, actualVersion: number): CommandReply {
  return errorReply(
    new RatchetError(ErrorCode.VERSION_CONFLICT, `stream ${streamId} is at version ${actualVersion}, expected ${expectedVersion}`, {
      details: { streamId, expectedVersion, actualVersion },
    }),
  );
}

function okReply(result: AppendResult): CommandReply {
  return {
    status: 'ok',
    version: result.version,
    events: result.events.map((e: RecordedEvent) => ({ version: e.version, type: e.type, schemaVersion: e.schemaVersion, data: e.data })),
    duplicate: result.duplicate,
  };
}

/** Tell the timer scheduler how soon the earliest timer just started is due. */
export function noteTimersStarted(context: Pick<CommandHandlerContext, 'onTimersStarted'>, timers: TimerEffects): void {
  if (timers.start.length === 0) return;
  const now = Date.now();
  const due = timers.start.map((t) => (t.kind === 'command' && t.at !== undefined ? Date.parse(t.at) - now : (t.delayMs ?? 0)));
  context.onTimersStarted(Math.max(0, Math.min(...due)));
}

/**
 * The events to append, the last one carrying the timers the decision started and cancelled
 * (`metadata.timers`): the stream then tells which timers were pending at any version, which the
 * history checker (C11) and time travel read.
 */
export function newEvents(actor: AggregateActor, events: readonly DomainEvent[], timers: TimerEffects): NewEvent[] {
  const runtime = actor.aggregate.runtime;
  const out: NewEvent[] = events.map((e) => ({ type: e.type, data: e.data, schemaVersion: runtime.schemaVersionOf(e.type) }));
  if ((timers.start.length > 0 || timers.cancel.length > 0) && out.length > 0) {
    const last = out[out.length - 1]!;
    const start = timers.start.map((t) => ({ id: t.id, kind: t.kind, ...(t.kind === 'command' && t.at !== undefined ? { at: t.at } : { delayMs: t.delayMs ?? 0 }) }));
    out[out.length - 1] = { ...last, metadata: { timers: { start, cancel: timers.cancel } } };
  }
  return out;
}
