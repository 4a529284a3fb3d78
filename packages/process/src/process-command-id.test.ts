import { COMMAND_ID_PATTERN } from '@ratchet/transport-nats';
import { describe, expect, it } from 'vitest';
import { processCommandId, processCommandIdPrefix } from './process-command-id.js';

describe('processCommandId', () => {
  it('is readable for plain ids: the stream id with its slash as a colon, the version and the step', () => {
    expect(processCommandId('technician-dispatch', 'turnstile/t-0007', 12, 'call')).toBe(
      'proc:technician-dispatch:turnstile:t-0007:12:call',
    );
    expect(processCommandId('p', 'order/eu:42', 3, 'ship')).toBe('proc:p:order:eu:42:3:ship');
  });

  it('is the same on every call (a re-run sends the same ids) and differs by stream, version and step', () => {
    const id = processCommandId('p', 'turnstile/t-1', 5, 'call');
    expect(processCommandId('p', 'turnstile/t-1', 5, 'call')).toBe(id);
    const others = [
      processCommandId('p', 'turnstile/t-2', 5, 'call'),
      processCommandId('p', 'turnstile/t-1', 6, 'call'),
      processCommandId('p', 'turnstile/t-1', 5, 'page'),
      processCommandId('q', 'turnstile/t-1', 5, 'call'),
      processCommandId('p', 'turnstiles/t-1', 5, 'call'),
    ];
    expect(new Set([id, ...others]).size).toBe(6);
  });

  it('hashes ids a command id cannot hold, marked so they never equal a plain id, and stays within 128 characters', () => {
    const slashy = processCommandId('p', 'doc/a/b', 1, 's');
    const unicode = processCommandId('p', 'doc/café', 1, 's');
    expect(slashy).toMatch(/^proc:p:doc:\.[A-Za-z0-9_-]{43}:1:s$/);
    expect(unicode).toMatch(/^proc:p:doc:\.[A-Za-z0-9_-]{43}:1:s$/);
    expect(slashy).not.toBe(unicode);
    expect(slashy).not.toBe(processCommandId('p', 'doc/a:b', 1, 's'));
    const long = processCommandId(
      'a-rather-long-process-name-of-forty-chr',
      `${'t'.repeat(64)}/${'x'.repeat(120)}`,
      2_000_000_000,
      'S'.repeat(40),
    );
    expect(long).toMatch(/^proc:a-rather-long-process-name-of-forty-chr:\.[A-Za-z0-9_-]{43}$/);
    for (const id of [slashy, unicode, long]) expect(COMMAND_ID_PATTERN.test(id)).toBe(true);
    expect(long.startsWith(processCommandIdPrefix('a-rather-long-process-name-of-forty-chr'))).toBe(true);
  });
});
