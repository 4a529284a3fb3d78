import { ValidationError } from '@ratchet/core';
import { describe, expect, it } from 'vitest';
import { natsConnectOptions } from './nats-connect-options.js';

describe('natsConnectOptions', () => {
  it('moves user and password out of every URL (nats.js would ignore them)', () => {
    expect(natsConnectOptions('nats://worker:s%40cret@nats-1:4222,nats://worker:s%40cret@nats-2:4222')).toEqual({
      servers: ['nats://nats-1:4222', 'nats://nats-2:4222'],
      user: 'worker',
      pass: 's@cret',
    });
  });

  it('keeps URLs without credentials as they are, host:port included', () => {
    expect(natsConnectOptions('nats://127.0.0.1:4222, 127.0.0.1:4223')).toEqual({
      servers: ['nats://127.0.0.1:4222', 'nats://127.0.0.1:4223'],
    });
  });

  it('reads user info without a password as a token', () => {
    expect(natsConnectOptions('nats://t0ken@127.0.0.1:4222')).toEqual({ servers: ['nats://127.0.0.1:4222'], token: 't0ken' });
  });

  it('refuses two different identities and says why, without the password', () => {
    const call = () => natsConnectOptions('nats://a:one@h1:4222,nats://b:two@h2:4222');
    expect(call).toThrow(ValidationError);
    expect(call).toThrow(/different credentials/);
    const bad = (() => {
      try {
        natsConnectOptions('nats://u:secret@[bad');
      } catch (error) {
        return error as ValidationError;
      }
      return undefined;
    })();
    expect(bad).toBeInstanceOf(ValidationError);
    expect(JSON.stringify(bad!.issues)).toContain('u:***@');
    expect(JSON.stringify(bad!.issues)).not.toContain('secret');
  });
});
