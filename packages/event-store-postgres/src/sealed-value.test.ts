import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { ErrorCode, FORGOTTEN } from '@ratchet/core';
import { describe, expect, it } from 'vitest';
import { parseMasterKey } from './master-key.js';
import { hasCiphertext, openValue, placeholderOf, sealedEnvelopeOf, sealValue, type SealedEnvelope } from './sealed-value.js';
import { openState, sealedStateOf, sealState } from './sealed-state.js';
import { SensitiveDataError } from './sensitive-data-error.js';
import { SubjectKey } from './subject-key.js';

const envelope = (sealed: unknown): SealedEnvelope => sealedEnvelopeOf(sealed)!;

function failure(run: () => unknown): SensitiveDataError {
  try {
    run();
  } catch (error) {
    if (error instanceof SensitiveDataError) return error;
    throw error;
  }
  throw new Error('did not fail');
}

describe('sealed values', () => {
  it('round-trip any JSON value under the subject key, and hold no trace of it in clear', () => {
    const key = randomBytes(32);
    for (const value of ['ben@sequent.io', 42, { street: 'Main St 1' }, ['a', 'b'], true]) {
      const sealed = sealValue('author-1', key, value, FORGOTTEN);
      expect(JSON.stringify(sealed)).not.toContain(JSON.stringify(value).replaceAll('"', ''));
      expect(openValue(envelope(sealed), key)).toEqual(value);
    }
  });

  it('use a fresh iv each time, so one value sealed twice looks different', () => {
    const key = randomBytes(32);
    expect(JSON.stringify(sealValue('s', key, 'x', FORGOTTEN))).not.toBe(JSON.stringify(sealValue('s', key, 'x', FORGOTTEN)));
  });

  it('refuse another key, another subject and changed bytes with a typed error (wrong-key), never a crash', () => {
    const key = randomBytes(32);
    const sealed = envelope(sealValue('author-1', key, 'ben@sequent.io', FORGOTTEN));
    const wrong = failure(() => openValue(sealed, randomBytes(32)));
    expect(wrong).toMatchObject({ code: ErrorCode.SENSITIVE_DATA_UNREADABLE, reason: 'wrong-key', subject: 'author-1', retryable: false });
    expect(failure(() => openValue({ ...sealed, subject: 'author-2' }, key)).reason).toBe('wrong-key');
    const bytes = Buffer.from(sealed.data!, 'base64');
    bytes[0] = bytes[0]! ^ 1;
    expect(failure(() => openValue({ ...sealed, data: bytes.toString('base64') }, key)).reason).toBe('wrong-key');
    expect(failure(() => openValue({ v: 1, subject: 'author-1', iv: 'AA==', data: 'AA==' }, key)).reason).toBe('malformed');
    expect(failure(() => sealedEnvelopeOf({ $sealed: { v: 2, subject: 'x' } })).reason).toBe('malformed');
  });

  it('store nothing but the subject (and a placeholder other than the default) when the subject is forgotten', () => {
    const sealed = envelope(sealValue('author-1', null, 'ben@sequent.io', FORGOTTEN));
    expect(sealed).toEqual({ v: 1, subject: 'author-1' });
    expect(hasCiphertext(sealed)).toBe(false);
    expect(placeholderOf(sealed)).toBe(FORGOTTEN);
    expect(placeholderOf(envelope(sealValue('author-1', null, 41, -1)))).toBe(-1);
  });

  it('are recognised only as an object whose one key is $sealed', () => {
    expect(sealedEnvelopeOf({ $sealed: { v: 1, subject: 's' }, other: 1 })).toBeUndefined();
    expect(sealedEnvelopeOf('$sealed')).toBeUndefined();
    expect(sealedEnvelopeOf([{ $sealed: {} }])).toBeUndefined();
  });
});

describe('sealed snapshot states', () => {
  it('open only with every subject key, for the same stream and version', () => {
    const keys = [randomBytes(32), randomBytes(32)];
    const state = { value: 'added', context: { email: 'ben@sequent.io' } };
    const sealed = sealState('author/a', 7, state, ['s1', 's2'], keys);
    expect(JSON.stringify(sealed)).not.toContain('ben@sequent.io');
    const env = sealedStateOf(sealed)!;
    expect(openState('author/a', 7, env, keys)).toEqual(state);
    expect(openState('author/a', 7, env, [keys[0]!, randomBytes(32)])).toBeUndefined();
    expect(openState('author/b', 7, env, keys)).toBeUndefined();
    expect(openState('author/a', 8, env, keys)).toBeUndefined();
    expect(sealedStateOf(state)).toBeUndefined();
  });
});

describe('keys in memory', () => {
  it('print and serialise as [redacted]', () => {
    const bytes = randomBytes(32);
    const key = new SubjectKey('author-1', bytes);
    const master = parseMasterKey(randomBytes(32).toString('base64'));
    for (const text of [JSON.stringify({ key, master }), inspect({ key, master }), String(key)]) {
      expect(text).toContain('redacted');
      expect(text).not.toContain(bytes.toString('hex'));
      expect(text).not.toContain(bytes.toString('base64'));
    }
  });
});

describe('the master key', () => {
  it('wraps a subject key for that subject only; another master key is a typed error (wrong-master-key)', () => {
    const master = parseMasterKey(randomBytes(32).toString('hex'));
    const key = randomBytes(32);
    const wrapped = master.wrap('author-1', key);
    expect(wrapped.includes(key)).toBe(false);
    expect(master.unwrap('author-1', wrapped)).toEqual(key);
    expect(failure(() => master.unwrap('author-2', wrapped)).reason).toBe('wrong-master-key');
    expect(failure(() => parseMasterKey(randomBytes(32).toString('base64')).unwrap('author-1', wrapped)).reason).toBe('wrong-master-key');
  });

  it('is 32 bytes, base64 or hex, and has a stable id that is not the key', () => {
    const text = randomBytes(32).toString('base64');
    expect(parseMasterKey(text).id).toBe(parseMasterKey(Buffer.from(text, 'base64').toString('hex')).id);
    expect(parseMasterKey(text).id).toMatch(/^master:[0-9a-f]{16}$/);
    expect(() => parseMasterKey('short')).toThrow(/32 bytes/);
  });
});
