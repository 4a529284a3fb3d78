/** Prefix of every command subject: `ratchet.cmd.<aggregateType>.<partition>`. */
export const COMMAND_SUBJECT_PREFIX = 'ratchet.cmd';

/** Prefix of every event subject: `ratchet.evt.<aggregateType>.<aggregateId>`. */
export const EVENT_SUBJECT_PREFIX = 'ratchet.evt';

/** The subject a partition's owner serves commands on: `ratchet.cmd.<type>.<partition>`. */
export function commandSubject(aggregateType: string, partition: number): string {
  return `${COMMAND_SUBJECT_PREFIX}.${aggregateType}.${partition}`;
}

/** The JetStream subject of one aggregate's committed events: `ratchet.evt.<type>.<id>`. */
export function eventSubject(aggregateType: string, aggregateId: string): string {
  return `${EVENT_SUBJECT_PREFIX}.${aggregateType}.${aggregateId}`;
}

/**
 * Where a client asks why a command subject had no responders: `ratchet.cmd.unrouted.<type>.<partition>`
 * (five tokens, so it never matches a command subscription `ratchet.cmd.<type>.<partition>`).
 * Every worker listens in one queue group and answers UNKNOWN_AGGREGATE, WRONG_PARTITION or
 * UNAVAILABLE (retryable: the partition is between owners). Only the slow path pays for it.
 */
export const UNROUTED_SUBJECT_PREFIX = `${COMMAND_SUBJECT_PREFIX}.unrouted`;

/** The unrouted-probe subject for a command subject (`ratchet.cmd.T.P` → `ratchet.cmd.unrouted.T.P`); undefined for any other subject. */
export function unroutedSubjectFor(subject: string): string | undefined {
  const prefix = `${COMMAND_SUBJECT_PREFIX}.`;
  if (!subject.startsWith(prefix) || subject.split('.').length !== 4) return undefined;
  return `${UNROUTED_SUBJECT_PREFIX}.${subject.slice(prefix.length)}`;
}
