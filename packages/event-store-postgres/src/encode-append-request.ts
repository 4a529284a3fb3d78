import { ValidationError } from '@ratchet/core';
import type { EventMetadata, ValidationIssue } from '@ratchet/core';
import type { AppendRequest } from './append-request.js';
import { encodeTimerOps } from './encode-timer-ops.js';

/** Longest accepted stream id, in characters (also a CHECK constraint on the tables). */
export const STREAM_ID_MAX_LENGTH = 200;

/** Longest accepted command id, in characters. */
export const COMMAND_ID_MAX_LENGTH = 200;

/** One event of a validated append, ready to be returned as a RecordedEvent once committed. */
export interface EncodedEvent {
  readonly type: string;
  readonly schemaVersion: number;
  /** `data` as JSON text, exactly what is stored. */
  readonly dataJson: string;
  readonly metadata: EventMetadata;
}

/** A validated append: the JSON element sent to `append_batch`, the events it carries and its timer operations. */
export interface EncodedAppend {
  readonly streamId: string;
  readonly json: string;
  readonly events: readonly EncodedEvent[];
  /** Timer starts and cancels as JSON objects (see `encodeTimerOps`); empty when none. */
  readonly timerOps: readonly string[];
}

class JsonProblem extends Error {}

function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  if (key.includes('\u0000')) throw new JsonProblem('a key contains a NUL character');
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) throw new JsonProblem(`non-finite number ${String(value)}`);
      return value;
    case 'string':
      if (value.includes('\u0000')) throw new JsonProblem('a string contains a NUL character (not storable in jsonb)');
      return value;
    case 'function':
    case 'symbol':
    case 'bigint':
      throw new JsonProblem(`a ${typeof value} is not JSON`);
    default:
      return value;
  }
}

/** JSON text of a value, or a reason it cannot be stored as jsonb without loss. */
function toJson(value: unknown): { json: string } | { problem: string } {
  try {
    const json = JSON.stringify(value, jsonReplacer);
    return json === undefined ? { problem: 'is not JSON-serialisable' } : { json };
  } catch (err) {
    return { problem: `is not JSON-serialisable: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Issues with a stream id (empty, too long, not a string); empty when valid. */
export function streamIdIssues(streamId: unknown, path: ReadonlyArray<string | number> = ['streamId']): ValidationIssue[] {
  if (typeof streamId !== 'string') return [{ path, message: 'must be a string' }];
  if (streamId.length === 0) return [{ path, message: 'must not be empty' }];
  if (streamId.length > STREAM_ID_MAX_LENGTH) return [{ path, message: `must be at most ${STREAM_ID_MAX_LENGTH} characters` }];
  if (streamId.includes('\u0000')) return [{ path, message: 'must not contain NUL' }];
  return [];
}

/** Throw a ValidationError when a stream id is unusable. */
export function assertStreamId(streamId: unknown): asserts streamId is string {
  const issues = streamIdIssues(streamId);
  if (issues.length > 0) throw new ValidationError('invalid stream id', issues);
}

function isVersion(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= 2_147_483_647;
}

/**
 * Validate one append and encode it for the `append_batch` SQL function. Collects every issue and
 * throws one ValidationError, so bad input never reaches SQL.
 */
export function encodeAppendRequest(request: AppendRequest): EncodedAppend {
  const issues: ValidationIssue[] = [];
  const req = request as Partial<Record<keyof AppendRequest, unknown>>;
  issues.push(...streamIdIssues(req.streamId));

  const expected = req.expectedVersion;
  if (expected !== 'any' && !isVersion(expected)) {
    issues.push({ path: ['expectedVersion'], message: "must be a non-negative integer or 'any'" });
  }

  const { commandId, requestHash, fence, metadata } = req;
  if (commandId !== undefined) {
    if (
      typeof commandId !== 'string' ||
      commandId.length === 0 ||
      commandId.length > COMMAND_ID_MAX_LENGTH ||
      commandId.includes('\u0000')
    ) {
      issues.push({ path: ['commandId'], message: `must be a non-empty string of at most ${COMMAND_ID_MAX_LENGTH} characters` });
    }
  }
  if (requestHash !== undefined && (typeof requestHash !== 'string' || requestHash.includes('\u0000'))) {
    issues.push({ path: ['requestHash'], message: 'must be a string' });
  }
  if (fence !== undefined) {
    const f = fence as { partition?: unknown; epoch?: unknown } | null;
    if (typeof f !== 'object' || f === null) {
      issues.push({ path: ['fence'], message: 'must be { partition, epoch }' });
    } else {
      if (!isVersion(f.partition)) issues.push({ path: ['fence', 'partition'], message: 'must be a non-negative integer' });
      if (typeof f.epoch !== 'number' || !Number.isSafeInteger(f.epoch) || f.epoch < 1) {
        issues.push({ path: ['fence', 'epoch'], message: 'must be a positive integer' });
      }
    }
  }
  if (metadata !== undefined && !isPlainObject(metadata)) {
    issues.push({ path: ['metadata'], message: 'must be a plain object' });
  }

  const encodedEvents: EncodedEvent[] = [];
  const events = req.events;
  if (!Array.isArray(events) || events.length === 0) {
    issues.push({ path: ['events'], message: 'must be a non-empty array' });
  } else {
    events.forEach((event: unknown, i) => {
      if (!isPlainObject(event)) {
        issues.push({ path: ['events', i], message: 'must be an object { type, data }' });
        return;
      }
      const { type, data, schemaVersion, metadata: own } = event;
      if (typeof type !== 'string' || type.length === 0 || type.includes('\u0000')) {
        issues.push({ path: ['events', i, 'type'], message: 'must be a non-empty string' });
      }
      if (
        schemaVersion !== undefined &&
        (typeof schemaVersion !== 'number' || !Number.isSafeInteger(schemaVersion) || schemaVersion < 1 || schemaVersion > 2_147_483_647)
      ) {
        issues.push({ path: ['events', i, 'schemaVersion'], message: 'must be a positive integer' });
      }
      const encodedData = toJson(data);
      if ('problem' in encodedData) issues.push({ path: ['events', i, 'data'], message: encodedData.problem });
      if (own !== undefined && !isPlainObject(own)) {
        issues.push({ path: ['events', i, 'metadata'], message: 'must be a plain object' });
      }
      const merged: EventMetadata = {
        ...(isPlainObject(metadata) ? metadata : {}),
        ...(isPlainObject(own) ? own : {}),
        ...(typeof commandId === 'string' ? { commandId } : {}),
      };
      const encodedMetadata = toJson(merged);
      if ('problem' in encodedMetadata) issues.push({ path: ['events', i, 'metadata'], message: encodedMetadata.problem });
      if ('json' in encodedData && 'json' in encodedMetadata && typeof type === 'string') {
        encodedEvents.push({
          type,
          schemaVersion: typeof schemaVersion === 'number' ? schemaVersion : 1,
          dataJson: encodedData.json,
          // Stored metadata is the JSON round trip of the merge (undefined values dropped).
          metadata: JSON.parse(encodedMetadata.json) as EventMetadata,
        });
      }
    });
  }

  const f = fence as { partition: number; epoch: number } | undefined;
  const timerOps = encodeTimerOps(req.streamId as string, f?.partition, req.timers as AppendRequest['timers'], issues);

  if (issues.length > 0) throw new ValidationError('invalid append request', issues);

  const streamId = req.streamId as string;
  const json =
    `{"streamId":${JSON.stringify(streamId)}` +
    `,"expectedVersion":${expected === 'any' ? 'null' : String(expected)}` +
    (typeof commandId === 'string' ? `,"commandId":${JSON.stringify(commandId)}` : '') +
    (typeof requestHash === 'string' ? `,"requestHash":${JSON.stringify(requestHash)}` : '') +
    (f === undefined ? '' : `,"fence":{"partition":${f.partition},"epoch":${f.epoch}}`) +
    `,"events":[${encodedEvents
      .map(
        (e) =>
          `{"type":${JSON.stringify(e.type)},"schemaVersion":${e.schemaVersion},"data":${e.dataJson},"metadata":${JSON.stringify(e.metadata)}}`,
      )
      .join(',')}]}`;
  return { streamId, json, events: encodedEvents, timerOps };
}
