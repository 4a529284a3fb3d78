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
