import { describe, expect, it } from 'vitest';
import { canonicalJson, requestHash } from './request-hash.js';
import type { CommandRequest } from './command-request.js';

const base: CommandRequest = { id: 't1', command: { type: 'add', payload: { b: 1, a: [2, { d: 3, c: 4 }] } }, commandId: 'c1' };

describe('requestHash', () => {
  it('sorts keys at every depth', () => {
    expect(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] })).toBe('{"a":[2,{"c":4,"d":3}],"b":1}');
  });

  it('is a stable sha256 hex', () => {
    // sha256 of {"aggregateType":"counter","expectedVersion":null,"id":"t1","payload":{"a":[2,{"c":4,"d":3}],"b":1},"type":"add"}
    expect(requestHash('counter', base)).toMatch(/^[0-9a-f]{64}$/);
    expect(requestHash('counter', base)).toBe(
      requestHash('counter', { ...base, command: { type: 'add', payload: { a: [2, { c: 4, d: 3 }], b: 1 } } }),
    );
  });

  it('matches the vector in docs/protocol.md (cross-checked with Python hashlib)', () => {
    const request: CommandRequest = {
      id: 'turnstile-1',
      command: { type: 'insertCoin', payload: {} },
      commandId: 'any',
      expectedVersion: 1,
    };
    expect(requestHash('turnstile', request)).toBe('13d6c0e847d890f6f68c16d11abba07df268573177e1aa4e60f328e4ab00faa8');
  });

  it('ignores the command id and metadata', () => {
    expect(requestHash('counter', { ...base, commandId: 'other', metadata: { correlationId: 'x' } })).toBe(requestHash('counter', base));
  });

  it.each<[string, string, CommandRequest]>([
    ['aggregate type', 'other', base],
    ['id', 'counter', { ...base, id: 't2' }],
    ['command type', 'counter', { ...base, command: { ...base.command, type: 'sub' } }],
    ['payload', 'counter', { ...base, command: { ...base.command, payload: { b: 2 } } }],
    ['expected version', 'counter', { ...base, expectedVersion: 0 }],
  ])('changes with the %s', (_what, type, request) => {
    expect(requestHash(type, request)).not.toBe(requestHash('counter', base));
  });
});
