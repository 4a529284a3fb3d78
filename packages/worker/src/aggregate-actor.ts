import { ErrorCode, RatchetError, type AggregateState, type AnyAggregate } from '@ratchet/core';
import type { AppendOutcome } from '@ratchet/event-store-postgres';
import { errorReply, type CommandReply } from '@ratchet/transport-nats';
import type { ActorRef } from './actor-ref.js';
import { CrashPoint, crashPoint } from './crash-point.js';
import {
  answerWithoutWriting,
  noteTimersStarted,
  okReply,
  prepareCommand,
  type AdmittedCommand,
  type CommandHandlerContext,
  type PreparedCommand,
} from './handle-command.js';

/** A job that needs the actor to itself (a timer fire): it runs when no command is in flight. */
export type ActorJob = () => Promise<void>;

/** Re-decisions of one command after an append found the stream elsewhere than the actor thought. */
const MAX_INTERNAL_RETRIES = 3;

/** A command waiting to be decided, or decided and waiting for its answer. */
interface Pending {
  readonly admitted: AdmittedCommand;
  readonly answer: (reply: CommandReply) => void;
  attempts: number;
}

/** A decided command: its append in flight (with the state it leads to), or its answer ready. */
interface InFlight {
  readonly pending: Pending;
  /** The state it was decided against. */
  readonly base: AggregateState;
  readonly prepared: PreparedCommand;
  /** For an append: its outcome once the group commit returned. */
  outcome?: AppendOutcome;
  readonly settled: Promise<void>;
}

/** The outcome of an append whose `settled` has resolved: it is set before that. */
function settledOutcome(entry: InFlight): AppendOutcome {
  if (entry.outcome === undefined) {
    throw new RatchetError(
      ErrorCode.INTERNAL,
      `the append of command ${entry.pending.admitted.request.commandId} settled without an outcome`,
    );
  }
  return entry.outcome;
}

/**
 * One aggregate instance living in a worker: its state (XState snapshot and stream version, as
 * committed), and its queue. Commands are decided one at a time in arrival order, but not one
 * commit at a time: while an append is in flight, the commands behind it are decided against the
 * state it will leave and their appends follow it, chained by expected version (pipelining, up
 * to `maxInFlight` commands). Answers go out in order, each once everything before it committed,
 * so they are exactly those of running the commands one by one: when an append fails (a conflict,
 * a duplicate command id, the store), everything decided after it is decided again, against the
 * state reloaded from the store, once the appends still in flight have returned.
 */
export class AggregateActor implements ActorRef {
  readonly aggregate: AnyAggregate;
  readonly id: string;
  readonly streamId: string;
  readonly partition: number;
  /** Undefined until loaded, and again after an outcome that leaves the state unknown. */
  state: AggregateState | undefined;
  /** Version of the newest snapshot this actor knows to be stored. */
  snapshotVersion = 0;
  /** When the actor last handled a command (ms since epoch). */
  lastUsed = Date.now();
  readonly #queue: Array<{ readonly command: Pending } | { readonly job: ActorJob }> = [];
  readonly #inFlight: InFlight[] = [];
  #pumping = false;
  #settling = false;
  /** An outcome arrived while answers were going out: look at the head again before stopping. */
  #settleAgain = false;
  /** Commands are being put back for a second decision: decide nothing new meanwhile. */
  #redoing = false;
  #context: CommandHandlerContext | undefined;
  #maxInFlight = 1;

  constructor(aggregate: AnyAggregate, id: string, streamId: string, partition: number) {
    this.aggregate = aggregate;
    this.id = id;
    this.streamId = streamId;
    this.partition = partition;
  }

  /** True while a command or job runs, waits, or awaits its answer. */
  get busy(): boolean {
    return this.#pumping || this.#queue.length > 0 || this.#inFlight.length > 0;
  }

  /** Decide and commit a command; resolves with its answer (never rejects). */
  submit(context: CommandHandlerContext, admitted: AdmittedCommand, maxInFlight: number): Promise<CommandReply> {
    this.#context = context;
    this.#maxInFlight = Math.max(1, maxInFlight);
    return new Promise((answer) => {
      this.#queue.push({ command: { admitted, answer, attempts: 0 } });
      void this.#pump();
    });
  }

  /** The context of the last submit: commands are queued only by submit, so one exists whenever a command is. */
  #requireContext(): CommandHandlerContext {
    if (this.#context === undefined) throw new RatchetError(ErrorCode.INTERNAL, `actor ${this.streamId} has a command but no context`);
    return this.#context;
  }

  /** Queue a job that needs the actor to itself; it runs after the commands before it are answered. */
  enqueue(job: ActorJob): void {
    this.#queue.push({ job });
    void this.#pump();
  }

  /** Decide queued commands (and run jobs) in order while the pipeline has room. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (;;) {
        const next = this.#queue[0];
        if (next === undefined || this.#redoing) break;
        this.lastUsed = Date.now();
        if ('job' in next) {
          if (this.#inFlight.length > 0) break; // resumes when the pipeline empties
          this.#queue.shift();
          // Jobs settle their own errors; a throw here would be a bug, and must not stall the actor.
          await next.job().catch(() => undefined);
          continue;
        }
        if (this.#inFlight.length >= this.#maxInFlight) break; // resumes as answers go out
        if (this.#mustWait(next.command)) break; // resumes once the entries it depends on are answered
        const context = this.#requireContext();
        let base: AggregateState;
        try {
          base = this.#inFlightTail() ?? (this.state ??= await context.activation.load(this));
        } catch (error) {
          this.#queue.shift();
          next.command.answer(errorReply(error));
          continue;
        }
        this.#queue.shift();
        this.#decide(context, next.command, base);
      }
    } finally {
      this.#pumping = false;
      this.lastUsed = Date.now();
      this.#releaseEmptyQueues();
    }
  }

  /**
   * Give an emptied queue's storage back: V8 keeps the backing store an array grew to after
   * `shift` empties it (about 150 bytes each here), and resetting the length frees it. With a
   * million resident actors, most idle, that is ~300 MB.
   */
  #releaseEmptyQueues(): void {
    if (this.#queue.length === 0) this.#queue.length = 0;
    if (this.#inFlight.length === 0) this.#inFlight.length = 0;
  }

  /**
   * Whether the next command must wait for the entries in flight to be answered before it is
   * decided: after a rejection or conflict whose answer is the command id's first answer when one
   * exists (that lookup must see the store as one-by-one execution would: after the commands
   * before it, before those after it), and when a command in flight has the same command id.
   */
  #mustWait(next: Pending): boolean {
    const commandId = next.admitted.request.commandId;
    return this.#inFlight.some(
      (e) => (e.prepared.kind === 'answer' && e.prepared.firstAnswerWins) || e.pending.admitted.request.commandId === commandId,
    );
  }

  /** The state the last decided command in flight leads to, if any. */
  #inFlightTail(): AggregateState | undefined {
    for (let i = this.#inFlight.length - 1; i >= 0; i -= 1) {
      const prepared = this.#inFlight[i]?.prepared;
      if (prepared?.kind === 'append') return prepared.decision.state;
    }
    // Only answers in flight: they leave the state as it was.
    return this.#inFlight.length > 0 ? this.state : undefined;
  }

  #decide(context: CommandHandlerContext, pending: Pending, base: AggregateState): void {
    let prepared: PreparedCommand;
    try {
      prepared = prepareCommand(context, this, pending.admitted, base);
    } catch (error) {
      prepared = { kind: 'answer', reply: errorReply(error), firstAnswerWins: false };
    }
    let entry: InFlight;
    if (prepared.kind === 'append') {
      crashPoint(CrashPoint.BEFORE_COMMIT);
      const settled: Promise<void> = context.committer.submit(prepared.request).then((outcome) => {
        entry.outcome = outcome;
      });
      entry = { pending, base, prepared, settled };
    } else {
      entry = { pending, base, prepared, settled: Promise.resolve() };
    }
    this.#inFlight.push(entry);
    void entry.settled.then(() => this.#settle());
  }

  /** Answer the decided commands at the head whose outcome is known, in order. */
  async #settle(): Promise<void> {
    if (this.#settling) {
      this.#settleAgain = true;
      return;
    }
    this.#settling = true;
    try {
      for (;;) {
        const head = this.#inFlight[0];
        if (head === undefined || (head.prepared.kind === 'append' && head.outcome === undefined)) {
          if (!this.#settleAgain) break;
          this.#settleAgain = false;
          continue;
        }
        const context = this.#requireContext();
        if (head.prepared.kind === 'answer') {
          this.#inFlight.shift();
          head.pending.answer(
            await answerWithoutWriting(context, head.pending.admitted, head.prepared).catch((error: unknown) => errorReply(error)),
          );
          continue;
        }
        const outcome = settledOutcome(head);
        this.#inFlight.shift();
        if (outcome.ok && !outcome.result.duplicate) {
          const decision = head.prepared.decision;
          this.state = decision.state;
          context.activation.snapshotIfDue(this, decision.state);
          noteTimersStarted(context, decision.timers);
          head.pending.answer(okReply(outcome.result));
          continue;
        }
        if (outcome.ok) {
          // A retry of a command that already committed: its first answer; nothing was written now.
          head.pending.answer(okReply(outcome.result));
          await this.#redo(head, false);
          continue;
        }
        const error = outcome.error;
        if (error.code === ErrorCode.VERSION_CONFLICT && head.pending.attempts < MAX_INTERNAL_RETRIES) {
          // The stream was not where this actor thought: reload and decide it (and those after it) again.
          head.pending.attempts += 1;
          await this.#redo(undefined, false, head.pending);
          continue;
        }
        if (error.code === ErrorCode.FENCED) context.onFenced(this.partition, error);
        head.pending.answer(errorReply(error));
        await this.#redo(head, error.code === ErrorCode.STORE_UNAVAILABLE ? 'unknown' : false);
      }
    } finally {
      this.#settling = false;
    }
    void this.#pump();
  }

  /**
   * After the head's append failed or was a duplicate (its answer given), or must be decided again
   * (`retry`): once every append still in flight has returned, walk them in order from the version
   * the head started at, counting what really committed (an outcome the store could not report is
   * looked up by its command id). A command decided against the true version keeps its own outcome —
   * exactly the answer one-by-one execution gives it; from the first one decided against a version
   * the stream never had, the rest go back to the front of the queue and are decided again on the
   * state reloaded from the store (an append of theirs that committed after all is then a duplicate).
   */
  async #redo(head: InFlight | undefined, headCommitted: boolean | 'unknown', retry?: Pending): Promise<void> {
    this.#redoing = true;
    try {
      const rest = this.#inFlight.splice(0);
      await Promise.all(rest.map((e) => e.settled));
      this.state = undefined;
      const context = this.#requireContext();
      let kept = 0;
      if (head !== undefined && head.prepared.kind === 'append') {
        const committed = headCommitted === 'unknown' ? await this.#committedAfterAll(head) : headCommitted;
        let version = head.base.version + (committed ? head.prepared.request.events.length : 0);
        for (const entry of rest) {
          if (entry.base.version !== version) break;
          const prepared = entry.prepared;
          if (prepared.kind === 'answer') {
            entry.pending.answer(
              await answerWithoutWriting(context, entry.pending.admitted, prepared).catch((error: unknown) => errorReply(error)),
            );
          } else {
            const outcome = settledOutcome(entry);
            if (!outcome.ok && outcome.error.code === ErrorCode.VERSION_CONFLICT) break;
            if (outcome.ok) {
              if (!outcome.result.duplicate) {
                version += prepared.request.events.length;
                noteTimersStarted(context, prepared.decision.timers);
              }
              entry.pending.answer(okReply(outcome.result));
            } else {
              if (outcome.error.code === ErrorCode.FENCED) context.onFenced(this.partition, outcome.error);
              if (outcome.error.code === ErrorCode.STORE_UNAVAILABLE && (await this.#committedAfterAll(entry)))
                version += prepared.request.events.length;
              entry.pending.answer(errorReply(outcome.error));
            }
          }
          kept += 1;
        }
      }
      const again = rest.slice(kept).map((e) => ({ command: e.pending }));
      this.#queue.unshift(...(retry === undefined ? [] : [{ command: retry }]), ...again);
    } finally {
      this.#redoing = false;
    }
  }

  /** Whether an append whose outcome the store could not report committed after all (looked up by its command id). */
  async #committedAfterAll(entry: InFlight): Promise<boolean> {
    if (entry.prepared.kind !== 'append') return false;
    const request = entry.prepared.request;
    if (request.commandId === undefined) return false; // nothing to look it up by
    try {
      const first = await this.#requireContext().store.findCommand(request.commandId);
      return first !== null && first.requestHash === (request.requestHash ?? null) && first.result.fromVersion === entry.base.version + 1;
    } catch {
      return false; // unknown still: the walk stops at the next command, which is then decided again
    }
  }
}
