import { aggregateIdProblem, AGGREGATE_TYPE_PATTERN, MAX_COMMAND_TYPE_LENGTH } from '@ratchet/transport-nats';
import { STEP_PATTERN, type AnyProcess, type ProcessStep } from './define-process.js';
import type { ProcessCommand } from './process-command.js';
import { processCommandId } from './process-command-id.js';
import type { ProcessEvent } from './process-event.js';
import type { ProcessRejection } from './process-rejection.js';

/** A definite answer to a process's command. */
export type CommandAnswer =
  | { readonly outcome: 'ok'; readonly version: number }
  | { readonly outcome: 'rejected'; readonly reason: string; readonly version: number }
  | { readonly outcome: 'failed'; readonly reason: string; readonly code: string };

/** No definite answer within the send policy: the outcome is unknown. */
export interface Unanswered {
  readonly outcome: 'unanswered';
  readonly reason: string;
}

/** Sends one command (or finds its recorded answer) until a definite answer or the policy gives up. */
export type Dispatch = (commandId: string, command: ProcessCommand, trigger: ProcessEvent) => Promise<CommandAnswer | Unanswered>;

/** A command of a handled event with its answer. */
export interface AnsweredCommand {
  readonly commandId: string;
  readonly command: ProcessCommand;
  /** 1 for `handle`'s commands, 2 for those `onRejected` sent in answer to round 1, … */
  readonly round: number;
  readonly answer: CommandAnswer;
}

/** Why an event was parked instead of handled. */
export type ParkReason =
  /** `correlate`, `handle` or `onRejected` threw, returned no step, a state that is not JSON, or kept answering rejections past the round limit. */
  | 'handler-failed'
  /** A command with a bad target, id, type or step, or a step used twice for one event. */
  | 'invalid-command'
  /** A command got no definite answer within the send policy (its outcome is unknown). */
  | 'unanswered';

/** What running one event did. */
export type TriggerOutcome =
  | { readonly kind: 'handled'; readonly state: string; readonly commands: readonly AnsweredCommand[] }
  | { readonly kind: 'parked'; readonly reason: ParkReason; readonly error: string; readonly commands: readonly AnsweredCommand[] };

/** Thrown inside {@link runTrigger} to park the event. */
class Park extends Error {
  constructor(
    readonly reason: ParkReason,
    message: string,
  ) {
    super(message);
  }
}

function describe(error: unknown): string {
  return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 4_000);
}

/** Run a handler: its step, with the state as JSON text, or a Park. */
function step(
  run: () => ProcessStep<unknown> | undefined,
  state: string,
  what: string,
): { state: string; commands: readonly ProcessCommand[] } {
  let result: ProcessStep<unknown> | undefined;
  try {
    result = run();
  } catch (error) {
    throw new Park('handler-failed', `${what} threw ${describe(error)}`);
  }
  if (typeof result !== 'object' || result === null)
    throw new Park('handler-failed', `${what} returned ${String(result)}, not { state?, commands? }`);
  let next = state;
  if (result.state !== undefined) {
    try {
      next = JSON.stringify(result.state);
    } catch (error) {
      throw new Park('handler-failed', `${what} returned a state that is not JSON: ${describe(error)}`);
    }
  }
  const commands = result.commands ?? [];
  if (!Array.isArray(commands)) throw new Park('handler-failed', `${what} returned commands that are not a list`);
  return { state: next, commands };
}

function checkCommand(c: ProcessCommand, steps: Set<string>): void {
  const problem =
    typeof c !== 'object' || c === null
      ? 'is not a command'
      : typeof c.aggregateType !== 'string' || !AGGREGATE_TYPE_PATTERN.test(c.aggregateType)
        ? `aggregateType ${JSON.stringify(c.aggregateType)} is not an aggregate type`
        : aggregateIdProblem(c.aggregateId) !== undefined
          ? `aggregateId ${aggregateIdProblem(c.aggregateId)}`
          : typeof c.command?.type !== 'string' || c.command.type === '' || c.command.type.length > MAX_COMMAND_TYPE_LENGTH
            ? 'command.type must be a command name'
            : typeof c.step !== 'string' || !STEP_PATTERN.test(c.step)
              ? `step ${JSON.stringify(c.step)} must match ${STEP_PATTERN.source}`
              : steps.has(c.step)
                ? `step "${c.step}" is used twice for one event (steps make the command ids)`
                : undefined;
  if (problem !== undefined) throw new Park('invalid-command', `a command ${problem}`);
  steps.add(c.step);
}

/**
 * Run one event of one instance: `handle`, send its commands (all at once), hand each rejection or
 * failure to `onRejected` in the order the commands were emitted, send what that returns, and so
 * on for up to `maxRounds` rounds. The state travels as JSON text, so every handler gets a fresh
 * copy and the result is exactly what will be stored. Nothing here is stored: the caller commits
 * the outcome (or the park) with the event's position.
 */
export async function runTrigger(
  process: AnyProcess,
  event: ProcessEvent,
  state: string,
  dispatch: Dispatch,
  options: { readonly maxRounds: number },
): Promise<TriggerOutcome> {
  const answered: AnsweredCommand[] = [];
  try {
    let current = step(() => process.handle(event, JSON.parse(state)), state, 'handle');
    const steps = new Set<string>();
    for (let round = 1; current.commands.length > 0; round += 1) {
      if (round > options.maxRounds) throw new Park('handler-failed', `onRejected kept sending commands past ${options.maxRounds} rounds`);
      const commands = current.commands;
      for (const c of commands) checkCommand(c, steps);
      const toSend = commands.map((command) => ({
        command,
        commandId: processCommandId(process.name, event.streamId, event.version, command.step),
      }));
      const sends = await Promise.all(toSend.map(async (s) => ({ ...s, answer: await dispatch(s.commandId, s.command, event) })));
      const unanswered = sends.map((s) => s.answer).find((a): a is Unanswered => a.outcome === 'unanswered');
      if (unanswered !== undefined) throw new Park('unanswered', unanswered.reason);
      let next = { state: current.state, commands: [] as ProcessCommand[] };
      sends.forEach(({ command, commandId, answer }) => {
        const a = answer as CommandAnswer;
        answered.push({ commandId, command, round, answer: a });
        if (a.outcome === 'ok') return;
        const rejection: ProcessRejection = {
          outcome: a.outcome,
          command,
          commandId,
          reason: a.reason,
          ...(a.outcome === 'failed' ? { code: a.code } : { version: a.version }),
          trigger: event,
        };
        const s = next.state;
        const r = step(() => process.onRejected(rejection, JSON.parse(s)), s, 'onRejected');
        next = { state: r.state, commands: [...next.commands, ...r.commands] };
      });
      current = next;
    }
    return { kind: 'handled', state: current.state, commands: answered };
  } catch (error) {
    if (error instanceof Park) return { kind: 'parked', reason: error.reason, error: error.message, commands: answered };
    throw error;
  }
}
