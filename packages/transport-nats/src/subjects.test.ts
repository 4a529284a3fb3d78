import { describe, expect, it } from 'vitest';
import { ErrorCode, RatchetError } from '@ratchet/core';
import { commandSubject, eventSubject, unroutedSubjectFor } from './subjects.js';
import { eventMessageId, parseStreamId, streamIdOf } from './stream-id.js';

describe('subjects', () => {
  it('builds command and event subjects', () => {
    expect(commandSubject('turnstile', 37)).toBe('ratchet.cmd.turnstile.37');
    expect(eventSubject('turnstile', 'turnstile-1')).toBe('ratchet.evt.turnstile.turnstile-1');
  });

  it('maps a command subject to its unrouted probe, and nothing else', () => {
    expect(unroutedSubjectFor('ratchet.cmd.turnstile.37')).toBe('ratchet.cmd.unrouted.turnstile.37');
    expect(unroutedSubjectFor('ratchet.cmd.unrouted.turnstile.37')).toBeUndefined();
    expect(unroutedSubjectFor('ratchet.evt.turnstile.x')).toBeUndefined();
    expect(unroutedSubjectFor('ratchet.cmd.turnstile')).toBeUndefined();
  });
});

describe('stream ids', () => {
  it('round-trips ids that contain slashes', () => {
    const s = streamIdOf('order', 'eu/2024/17');
    expect(s).toBe('order/eu/2024/17');
    expect(parseStreamId(s)).toEqual({ aggregateType: 'order', aggregateId: 'eu/2024/17' });
    expect(eventMessageId(s, 3)).toBe('order/eu/2024/17:3');
  });

  it.each(['', 'order', '/x', 'order/'])('rejects %j', (s) => {
    expect(() => parseStreamId(s)).toThrow(RatchetError);
    try {
      parseStreamId(s);
    } catch (err) {
      expect((err as RatchetError).code).toBe(ErrorCode.INVALID_ID);
    }
  });
});
