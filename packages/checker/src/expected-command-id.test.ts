import { processCommandId } from '@ratchet/process';
import { describe, expect, it } from 'vitest';
import { expectedCommandId } from './verify-processes.js';

// C12 derives command ids from the documented format, apart from the runner's code: the two must agree.
describe("C12's command ids", () => {
  it.each([
    ['technician-dispatch', 'turnstile/t-0007', 12, 'call-technician'],
    ['p', 'order/eu:42', 3, 'ship'],
    ['p', 'doc/a/b', 1, 's'],
    ['p', 'doc/café', 7, 'S_1'],
    ['a-rather-long-process-name-of-forty-chr', `${'t'.repeat(64)}/${'x'.repeat(120)}`, 2_000_000_000, 'S'.repeat(40)],
  ])('%s %s@%i %s: the runner sends the id the documentation gives', (process, streamId, version, step) => {
    expect(processCommandId(process, streamId, version, step)).toBe(expectedCommandId(process, streamId, version, step));
  });
});
