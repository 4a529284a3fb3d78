import type { CommandUnion } from '@ratchet/core';
import type { z } from 'zod';

/**
 * A command a process emits: which aggregate gets it, the command itself, and a step name that is
 * unique among the commands one event leads to. The step is part of the command id
 * (`proc:<process>:<stream>:<version>:<step>`), so a re-run after a crash sends the same ids.
 */
export interface ProcessCommand {
  /** The target's aggregate type, e.g. `station`. */
  readonly aggregateType: string;
  /** The target's aggregate id. */
  readonly aggregateId: string;
  /** The command, as the target's schema takes it. */
  readonly command: { readonly type: string; readonly payload?: unknown };
  /** `^[A-Za-z][A-Za-z0-9_-]{0,39}$`, unique per triggering event. */
  readonly step: string;
}

/** What {@link command} needs of an aggregate definition: its type name and command schemas. */
export interface CommandedAggregate {
  readonly type: string;
  readonly commands: Record<string, z.ZodType>;
}

/**
 * A command to an aggregate, typed by its definition: a command name or payload the aggregate does
 * not take does not compile.
 * @example
 * command(Station, 's-03', { type: 'callTechnician', payload: { turnstileId: 't-7' } }, 'call-technician');
 */
export function command<A extends CommandedAggregate>(
  aggregate: A,
  aggregateId: string,
  cmd: CommandUnion<A['commands']>,
  step: string,
): ProcessCommand {
  return { aggregateType: aggregate.type, aggregateId, command: { type: cmd.type, payload: cmd.payload }, step };
}
