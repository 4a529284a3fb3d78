import type { TimerEffects, ValidationIssue } from '@ratchet/core';

/** Longest timer id, in characters. */
export const TIMER_ID_MAX_LENGTH = 300;

/**
 * The timer operations of one append as JSON objects (without the request's index, added per
 * batch), or the issues that make them unstorable. Starts need the partition the stream belongs to.
 */
export function encodeTimerOps(
  streamId: string,
  partition: number | undefined,
  timers: TimerEffects | undefined,
  issues: ValidationIssue[],
): string[] {
  if (timers === undefined || (timers.start.length === 0 && timers.cancel.length === 0)) return [];
  if (partition === undefined) {
    issues.push({ path: ['timers'], message: 'timers need a fence: a timer belongs to its partition' });
    return [];
  }
  const ops: string[] = [];
  const idOk = (id: unknown): id is string =>
    typeof id === 'string' && id.length > 0 && id.length <= TIMER_ID_MAX_LENGTH && !id.includes('\u0000');
  timers.cancel.forEach((id, i) => {
    if (!idOk(id))
      issues.push({ path: ['timers', 'cancel', i], message: `must be a non-empty string of at most ${TIMER_ID_MAX_LENGTH} characters` });
    else ops.push(JSON.stringify({ op: 'cancel', streamId, id }));
  });
  timers.start.forEach((t, i) => {
    if (!idOk(t.id)) {
      issues.push({
        path: ['timers', 'start', i, 'id'],
        message: `must be a non-empty string of at most ${TIMER_ID_MAX_LENGTH} characters`,
      });
      return;
    }
    const when =
      t.kind === 'command' && t.at !== undefined
        ? Number.isNaN(Date.parse(t.at))
          ? undefined
          : { at: t.at }
        : Number.isSafeInteger(t.delayMs) && (t.delayMs as number) >= 0
          ? { delayMs: t.delayMs }
          : undefined;
    if (when === undefined) {
      issues.push({ path: ['timers', 'start', i], message: 'needs a non-negative integer delayMs or an ISO 8601 time at' });
      return;
    }
    const body = t.kind === 'delay' ? { event: t.event } : { command: t.command };
    let json: string | undefined;
    try {
      json = JSON.stringify({ op: 'start', streamId, id: t.id, partition, kind: t.kind, ...when, body });
    } catch {
      json = undefined;
    }
    if (json === undefined || json.includes('\\u0000'))
      issues.push({ path: ['timers', 'start', i, 'body'], message: 'must be JSON-serialisable' });
    else ops.push(json);
  });
  return ops;
}
