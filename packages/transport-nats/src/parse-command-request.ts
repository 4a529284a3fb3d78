import { ErrorCode, RatchetError, ValidationError, type ValidationIssue } from '@ratchet/core';
import { validateAggregateId } from './aggregate-id.js';
import {
  COMMAND_ID_PATTERN,
  MAX_COMMAND_TYPE_LENGTH,
  MAX_REQUEST_BYTES,
  type CommandMetadata,
  type CommandRequest,
} from './command-request.js';
import { exceedsDepth, forbiddenKeyPaths, MAX_JSON_DEPTH } from './json-limits.js';

/** Options of {@link parseCommandRequest}. */
export interface ParseCommandRequestOptions {
  /** Largest accepted message in bytes; default 65536. */
  readonly maxBytes?: number;
}

const ENVELOPE_KEYS = new Set(['id', 'command', 'commandId', 'expectedVersion', 'metadata']);
const COMMAND_KEYS = new Set(['type', 'payload']);
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Decode and check a command request. Throws only RatchetError: PAYLOAD_TOO_LARGE, MALFORMED_REQUEST,
 * VALIDATION_FAILED (every issue in `details.issues`) or INVALID_ID, checked in that order.
 * @example
 * const request = parseCommandRequest(msg.data, { maxBytes: 65_536 });
 */
export function parseCommandRequest(data: Uint8Array, options: ParseCommandRequestOptions = {}): CommandRequest {
  try {
    return parse(data, options.maxBytes ?? MAX_REQUEST_BYTES);
  } catch (err) {
    if (err instanceof RatchetError) throw err;
    // Defence in depth: nothing else may escape (e.g. a RangeError from a pathological input).
    throw new RatchetError(ErrorCode.MALFORMED_REQUEST, 'request could not be decoded', { cause: err });
  }
}

function parse(data: Uint8Array, maxBytes: number): CommandRequest {
  if (data.byteLength > maxBytes) {
    throw new RatchetError(ErrorCode.PAYLOAD_TOO_LARGE, `request is ${data.byteLength} bytes; the limit is ${maxBytes}`, {
      details: { size: data.byteLength, limit: maxBytes },
    });
  }
  // TextDecoder would drop a byte-order mark silently; RFC 8259 forbids sending one, and parsers in
  // other languages disagree on it (Go and Rust refuse it), so the protocol refuses it too.
  if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) {
    throw new RatchetError(ErrorCode.MALFORMED_REQUEST, 'request starts with a UTF-8 byte-order mark; send the JSON without one');
  }
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(data));
  } catch (err) {
    throw new RatchetError(ErrorCode.MALFORMED_REQUEST, 'request is not valid UTF-8 JSON', { cause: err });
  }
  if (exceedsDepth(value, MAX_JSON_DEPTH)) {
    throw new RatchetError(ErrorCode.MALFORMED_REQUEST, `request nests deeper than ${MAX_JSON_DEPTH} levels`, {
      details: { maxDepth: MAX_JSON_DEPTH },
    });
  }
  const forbidden = forbiddenKeyPaths(value);
  if (forbidden.length > 0) {
    const issues = forbidden.map((path) => ({ path, message: `forbidden key ${JSON.stringify(path.at(-1))}` }));
    throw new ValidationError(`request contains forbidden keys at ${forbidden.map((p) => p.join('.')).join(', ')}`, issues);
  }
  const request = checkEnvelope(value);
  validateAggregateId(request.id);
  return request;
}

function checkEnvelope(value: unknown): CommandRequest {
  const issues: ValidationIssue[] = [];
  const issue = (path: Array<string | number>, message: string): void => {
    issues.push({ path, message });
  };
  if (!isObject(value)) {
    issue([], 'request must be a JSON object');
    throw invalid(issues);
  }
  for (const key of Object.keys(value)) if (!ENVELOPE_KEYS.has(key)) issue([key], 'unknown field');

  if (typeof value.id !== 'string') issue(['id'], 'must be a string');

  const command = value.command;
  if (!isObject(command)) {
    issue(['command'], 'must be an object { type, payload }');
  } else {
    for (const key of Object.keys(command)) if (!COMMAND_KEYS.has(key)) issue(['command', key], 'unknown field');
    const type = command.type;
    if (typeof type !== 'string' || type.length === 0 || type.length > MAX_COMMAND_TYPE_LENGTH) {
      issue(['command', 'type'], `must be a string of 1 to ${MAX_COMMAND_TYPE_LENGTH} characters`);
    }
  }

  const commandId = value.commandId;
  if (typeof commandId !== 'string' || !COMMAND_ID_PATTERN.test(commandId)) {
    issue(['commandId'], 'must be 1 to 128 characters of A-Z a-z 0-9 _ : . -');
  }

  const expectedVersion = value.expectedVersion;
  if (expectedVersion !== undefined && !(Number.isSafeInteger(expectedVersion) && (expectedVersion as number) >= 0)) {
    issue(['expectedVersion'], 'must be a non-negative integer');
  }

  const metadata = value.metadata;
  if (metadata !== undefined) {
    if (!isObject(metadata)) issue(['metadata'], 'must be an object of strings');
    else for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') issue(['metadata', k], 'must be a string');
  }

  if (issues.length > 0) throw invalid(issues);
  const cmd = command as JsonObject;
  return {
    id: value.id as string,
    command: { type: cmd.type as string, payload: 'payload' in cmd ? cmd.payload : {} },
    commandId: commandId as string,
    ...(expectedVersion === undefined ? {} : { expectedVersion: expectedVersion as number }),
    ...(metadata === undefined ? {} : { metadata: metadata as CommandMetadata }),
  };
}

function invalid(issues: ValidationIssue[]): ValidationError {
  const summary = issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
  return new ValidationError(`request envelope is invalid: ${summary}`, issues);
}
