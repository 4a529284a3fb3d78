import { loadConfig } from '@ratchet/ops';
import { describe, expect, it } from 'vitest';
import { GatewayConfigSchema } from './gateway-config.js';

const base = { NATS_URL: 'nats://127.0.0.1:4222' };

describe('gateway config', () => {
  it('needs only NATS_URL: no DATABASE_URL (waitFor is then refused), the documented defaults', () => {
    const config = loadConfig(GatewayConfigSchema, base);
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config).toMatchObject({
      HTTP_PORT: 8082,
      HTTP_HOST: '0.0.0.0',
      RATCHET_PARTITIONS: 64,
      GATEWAY_MAX_BODY_BYTES: 65_536,
      GATEWAY_MAX_IN_FLIGHT: 256,
      GATEWAY_REQUEST_TIMEOUT_MS: 5_000,
      GATEWAY_ATTEMPT_TIMEOUT_MS: 1_000,
      GATEWAY_WAIT_FOR_TIMEOUT_MS: 2_000,
      GATEWAY_RETRY_AFTER_SECONDS: 1,
      DRAIN_TIMEOUT_MS: 10_000,
    });
  });

  it.each([
    ['NATS_URL', {}],
    ['DATABASE_URL', { ...base, DATABASE_URL: 'not a url' }],
    ['GATEWAY_MAX_BODY_BYTES', { ...base, GATEWAY_MAX_BODY_BYTES: '10' }],
    ['GATEWAY_MAX_IN_FLIGHT', { ...base, GATEWAY_MAX_IN_FLIGHT: '0' }],
    ['HTTP_PORT', { ...base, HTTP_PORT: '70000' }],
  ])('names %s when it is missing or bad', (name, env) => {
    expect(() => loadConfig(GatewayConfigSchema, env)).toThrow(new RegExp(name));
  });
});
