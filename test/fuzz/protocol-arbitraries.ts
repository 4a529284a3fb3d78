// fast-check arbitraries over the command protocol (docs/protocol.md) that produce messages a
// worker must refuse: every one is checked by `couldSucceed` and dropped if it might be a valid
// command, so "no event written" is a property of the worker, not of luck.
import { type CommandRequest, commandSubject, MAX_REQUEST_BYTES, parseCommandRequest, partitionOf } from '@ratchet/transport-nats';
import { turnstileCommands } from '@ratchet/turnstile';
import fc from 'fast-check';

/** One adversarial message: where it goes, its bytes, and which family made it. */
export interface FuzzMessage {
  readonly kind: string;
  readonly subject: string;
  readonly body: Uint8Array;
}

const utf8 = new TextEncoder();
const PARTITIONS = 64;
const KNOWN = ['install', 'insertCoin', 'pushArm'] as const;

const subjectOf = (id: string): string => commandSubject('turnstile', partitionOf(id, PARTITIONS));
const goodId = fc.stringMatching(/^[a-z0-9-]{1,16}$/).map((s) => `fz-${s}`);
const goodCommandId = fc.stringMatching(/^[A-Za-z0-9_:.-]{1,40}$/);
const knownType = fc.constantFrom(...KNOWN);

interface Envelope {
  id: unknown;
  command: unknown;
  commandId: unknown;
  expectedVersion?: unknown;
  metadata?: unknown;
  [extra: string]: unknown;
}

const envelope = fc
  .record({ id: goodId, type: knownType, commandId: goodCommandId })
  .map(({ id, type, commandId }): Envelope => ({ id, command: { type, payload: {} }, commandId }));

const message = (kind: string, subject: string, body: string | Uint8Array): FuzzMessage => ({
  kind,
  subject,
  body: typeof body === 'string' ? utf8.encode(body) : body,
});
const json = (kind: string, env: Envelope, subject = typeof env.id === 'string' ? subjectOf(env.id) : subjectOf('x')): FuzzMessage =>
  message(kind, subject, JSON.stringify(env));

/** A value of any JSON type except `like`'s. */
const notA = (like: 'string' | 'object' | 'number'): fc.Arbitrary<unknown> =>
  fc.jsonValue({ maxDepth: 2 }).filter((v) => {
    if (like === 'object') return typeof v !== 'object' || v === null || Array.isArray(v);
    return typeof v !== like;
  });

const randomBytes = fc
  .record({ id: goodId, bytes: fc.uint8Array({ maxLength: 400 }) })
  .map(({ id, bytes }) => message('random-bytes', subjectOf(id), bytes));

const invalidUtf8 = fc
  .record({ env: envelope, bad: fc.constantFrom([0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]) })
  .map(({ env, bad }) => {
    const text = JSON.stringify({ ...env, metadata: { note: '\u0001' } });
    const at = text.indexOf('\\u0001');
    const body = new Uint8Array([...utf8.encode(text.slice(0, at)), ...bad, ...utf8.encode(text.slice(at + 6))]);
    return message('invalid-utf8', subjectOf(env.id as string), body);
  });

const truncated = fc.record({ env: envelope, cut: fc.double({ min: 0, max: 1, noNaN: true }) }).map(({ env, cut }) => {
  const text = JSON.stringify(env);
  return message('truncated-json', subjectOf(env.id as string), text.slice(0, Math.floor(cut * (text.length - 1))));
});

const notAnObject = fc
  .record({
    id: goodId,
    value: fc.oneof(fc.jsonValue(), fc.constantFrom('', ' ', 'null', 'true', '[]', '"id"', '1e999', 'NaN', '{}', '{"id":}')),
  })
  .map(({ id, value }) =>
    message('not-an-envelope', subjectOf(id), typeof value === 'string' && value.length < 10 ? value : JSON.stringify(value)),
  );

const wrongTypes = fc
  .record({
    env: envelope,
    field: fc.constantFrom('id', 'command', 'commandId', 'command.type', 'command.payload-null', 'expectedVersion', 'metadata'),
    asString: notA('string'),
    asObject: notA('object'),
    badVersion: fc.oneof(fc.integer({ max: -1 }), fc.double({ noInteger: true }), fc.string()),
  })
  .map(({ env, field, asString, asObject, badVersion }) => {
    const e: Envelope = { ...env, command: { ...(env.command as object) } };
    if (field === 'id') e.id = asString;
    else if (field === 'command') e.command = asObject;
    else if (field === 'commandId') e.commandId = asString;
    else if (field === 'command.type') (e.command as Record<string, unknown>).type = asString;
    else if (field === 'command.payload-null') (e.command as Record<string, unknown>).payload = null;
    else if (field === 'expectedVersion') e.expectedVersion = badVersion;
    else e.metadata = asObject === null ? 5 : asObject;
    return json('wrong-types', e, subjectOf(typeof env.id === 'string' ? env.id : 'x'));
  });

const unknownFields = fc
  .record({ env: envelope, key: fc.string({ minLength: 1, maxLength: 20 }), value: fc.jsonValue({ maxDepth: 1 }), inCommand: fc.boolean() })
  .filter(({ key }) => !['id', 'command', 'commandId', 'expectedVersion', 'metadata', 'type', 'payload', '__proto__'].includes(key))
  .map(({ env, key, value, inCommand }) => {
    const e: Envelope = { ...env };
    if (inCommand) e.command = { ...(env.command as object), [key]: value };
    else e[key] = value;
    return json('unknown-field', e);
  });

const badIdString = fc.oneof(
  fc.constant(''),
  fc.integer({ min: 129, max: 2_000 }).map((n) => 'a'.repeat(n)),
  fc
    .integer({ min: 65, max: 200 })
    .map((n) => '🚀'.repeat(n)), // 2 UTF-16 units each: over 128
  fc
    .record({
      pre: fc.stringMatching(/^[a-z0-9]{0,10}$/),
      bad: fc.constantFrom(
        '.',
        '*',
        '>',
        ' ',
        '\t',
        '\n',
        '\r',
        '\u00a0',
        '\u2028',
        '\u2029',
        '\u3000',
        '\u0000',
        '\u0007',
        '\u001f',
        '\u007f',
        '\u0085',
        '\u009f',
        '..',
        '.>',
        '*.*',
      ),
      post: fc.stringMatching(/^[a-z0-9]{0,10}$/),
    })
    .map(({ pre, bad, post }) => `${pre}${bad}${post}`),
);
const badIds = fc.record({ env: envelope, id: badIdString }).map(({ env, id }) => json('bad-id', { ...env, id }, subjectOf(id)));

const unknownAggregate = fc
  .record({ env: envelope, type: fc.stringMatching(/^[A-Za-z0-9_-]{1,30}$/), partition: fc.integer({ min: 0, max: 63 }) })
  .filter(({ type }) => type !== 'turnstile')
  .map(({ env, type, partition }) => json('unknown-aggregate', env, `ratchet.cmd.${type}.${partition}`));

const wrongPartition = fc
  .record({
    env: envelope,
    token: fc.oneof(fc.integer({ min: 0, max: 5_000 }).map(String), fc.constantFrom('-1', '01', '1e1', 'abc', '0x1', '64', '4096')),
  })
  .filter(({ env, token }) => token !== String(partitionOf(env.id as string, PARTITIONS)))
  .map(({ env, token }) => json('wrong-partition', env, `ratchet.cmd.turnstile.${token}`));

const unknownCommand = fc
  .record({
    env: envelope,
    type: fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ minLength: 129, maxLength: 300 }), fc.constant('')),
  })
  .filter(({ type }) => !(KNOWN as readonly string[]).includes(type))
  .map(({ env, type }) => json('unknown-command', { ...env, command: { type, payload: {} } }));

/** `{"k":{"k":…{"<key>":<inner>}…}}` with the key `depth` levels down, written as text so no JS object ever holds it. */
const nestKey = (key: string, depth: number, inner: string): string =>
  `${'{"k":'.repeat(depth)}{${JSON.stringify(key)}:${inner}}${'}'.repeat(depth)}`;
const prototypeKeys = fc
  .record({
    env: envelope,
    key: fc.constantFrom('__proto__', 'constructor', 'prototype'),
    depth: fc.integer({ min: 0, max: 20 }),
    where: fc.constantFrom('payload', 'metadata', 'envelope', 'command', 'array'),
    inner: fc.constantFrom('{"admin":true}', '{"polluted":1}', 'null', '"x"', '[1]', '{"toString":1}'),
  })
  .map(({ env, key, depth, where, inner }) => {
    const id = JSON.stringify(env.id);
    const type = JSON.stringify((env.command as { type: string }).type);
    const cid = JSON.stringify(env.commandId);
    const nested = nestKey(key, depth, inner);
    let text: string;
    if (where === 'payload') text = `{"id":${id},"command":{"type":${type},"payload":${nested}},"commandId":${cid}}`;
    else if (where === 'array') text = `{"id":${id},"command":{"type":${type},"payload":{"list":[1,${nested}]}},"commandId":${cid}}`;
    else if (where === 'metadata') text = `{"id":${id},"command":{"type":${type},"payload":{}},"commandId":${cid},"metadata":${nested}}`;
    else if (where === 'command')
      text = `{"id":${id},"command":{"type":${type},"payload":{},${JSON.stringify(key)}:${inner}},"commandId":${cid}}`;
    else text = `{${JSON.stringify(key)}:${inner},"id":${id},"command":{"type":${type},"payload":{}},"commandId":${cid}}`;
    return message('prototype-key', subjectOf(env.id as string), text);
  });

const deepNesting = fc
  .record({
    env: envelope,
    depth: fc.oneof(
      { arbitrary: fc.integer({ min: 25, max: 40 }), weight: 5 },
      { arbitrary: fc.integer({ min: 40, max: 2_000 }), weight: 4 },
      { arbitrary: fc.integer({ min: 20_000, max: 32_000 }), weight: 1 },
    ),
    arrays: fc.boolean(),
  })
  .map(({ env, depth, arrays }) => {
    const inner = arrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const text = `{"id":${JSON.stringify(env.id)},"command":{"type":${JSON.stringify((env.command as { type: string }).type)},"payload":{"deep":${inner}}},"commandId":${JSON.stringify(env.commandId)}}`;
    return message('deep-nesting', subjectOf(env.id as string), text);
  });

/** Bodies of about the size limit: below it they still break a rule (payload schema, id length), above it they are too large. */
const huge = fc
  .record({
    env: envelope,
    delta: fc.oneof(
      { arbitrary: fc.integer({ min: -600, max: 600 }), weight: 6 },
      { arbitrary: fc.integer({ min: 600, max: 8_000 }), weight: 3 },
      { arbitrary: fc.integer({ min: 8_000, max: 200_000 }), weight: 1 },
    ),
    where: fc.constantFrom('payload', 'metadata', 'id', 'type'),
  })
  .map(({ env, delta, where }) => {
    const skeleton = JSON.stringify(env).length + 64;
    const pad = 'x'.repeat(Math.max(1, MAX_REQUEST_BYTES + delta - skeleton));
    let e: Envelope;
    if (where === 'payload') e = { ...env, command: { ...(env.command as object), payload: { pad } } };
    else if (where === 'metadata') e = { ...env, command: { ...(env.command as object), payload: { n: 1 } }, metadata: { pad } };
    else if (where === 'id') e = { ...env, id: pad };
    else e = { ...env, command: { type: pad, payload: {} } };
    return json('huge', e, subjectOf(typeof e.id === 'string' ? e.id : 'x'));
  });

const badPayload = fc
  .record({ env: envelope, payload: fc.jsonValue({ maxDepth: 4 }) })
  .map(({ env, payload }) => json('invalid-payload', { ...env, command: { ...(env.command as object), payload } }));

const badValues = fc
  .record({
    env: envelope,
    which: fc.constantFrom('commandId', 'expectedVersion', 'metadata'),
    commandId: fc.oneof(
      fc.constant(''),
      fc.string({ minLength: 129, maxLength: 200 }).map((s) => s.replace(/[^a-z]/g, 'a')),
      fc.constantFrom('a b', 'ü', 'x/y', 'x*', '\u0000', 'a'.repeat(129)),
    ),
    expectedVersion: fc.oneof(fc.integer({ min: -1_000, max: -1 }), fc.constantFrom(1.5, 2 ** 53, -0.5, '1', true, null, [])),
    metadata: fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string())), {
      minKeys: 1,
      maxKeys: 3,
    }),
  })
  .map(({ env, which, commandId, expectedVersion, metadata }) => {
    if (which === 'commandId') return json('bad-values', { ...env, commandId });
    if (which === 'expectedVersion') return json('bad-values', { ...env, expectedVersion });
    return json('bad-values', { ...env, metadata });
  });

/** Every family of adversarial message, weighted so huge and deep ones (costly to send) stay a few percent. */
export const adversarialMessage: fc.Arbitrary<FuzzMessage> = fc.oneof(
  { arbitrary: randomBytes, weight: 10 },
  { arbitrary: invalidUtf8, weight: 4 },
  { arbitrary: truncated, weight: 10 },
  { arbitrary: notAnObject, weight: 6 },
  { arbitrary: wrongTypes, weight: 10 },
  { arbitrary: unknownFields, weight: 6 },
  { arbitrary: badIds, weight: 10 },
  { arbitrary: unknownAggregate, weight: 8 },
  { arbitrary: wrongPartition, weight: 8 },
  { arbitrary: unknownCommand, weight: 8 },
  { arbitrary: prototypeKeys, weight: 10 },
  { arbitrary: deepNesting, weight: 3 },
  { arbitrary: huge, weight: 1 },
  { arbitrary: badPayload, weight: 10 },
  { arbitrary: badValues, weight: 6 },
);

/**
 * Whether a message might be a command the turnstile accepts (right subject, a valid envelope, a
 * known command, a payload its schema takes). Generated messages for which this holds are dropped.
 */
export function couldSucceed(m: FuzzMessage): boolean {
  let request: CommandRequest;
  try {
    request = parseCommandRequest(m.body);
  } catch {
    return false;
  }
  if (m.subject !== subjectOf(request.id)) return false;
  const type = request.command.type;
  if (!Object.hasOwn(turnstileCommands, type)) return false;
  return turnstileCommands[type as keyof typeof turnstileCommands].safeParse(request.command.payload).success;
}

/** `total` adversarial messages, generated lazily in chunks from `seed` (reproducible), never one that could succeed. */
export function* adversarialMessages(
  total: number,
  seed: number,
  onDropped: (m: FuzzMessage) => void = () => undefined,
): Generator<FuzzMessage> {
  let made = 0;
  for (let chunk = 0; made < total; chunk += 1) {
    for (const m of fc.sample(adversarialMessage, { numRuns: 1_000, seed: seed + chunk })) {
      if (couldSucceed(m)) {
        onDropped(m);
        continue;
      }
      yield m;
      if ((made += 1) >= total) return;
    }
  }
}
