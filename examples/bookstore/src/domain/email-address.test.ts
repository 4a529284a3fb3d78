import { describe, expect, it } from 'vitest';
import { emailAddress, emailKey, normalizeEmail } from './email-address.js';

describe('e-mail addresses', () => {
  it('are one address whatever their case and surrounding spaces', () => {
    expect(normalizeEmail('  Ben@Sequent.IO ')).toBe('ben@sequent.io');
    expect(emailKey('  Ben@Sequent.IO ')).toBe(emailKey('ben@sequent.io'));
    expect(emailKey('ben@sequent.io')).not.toBe(emailKey('kim@sequent.io'));
  });

  it('key to a valid aggregate id that does not contain the address', () => {
    const key = emailKey('ben@sequent.io');
    // The protocol's id rules: no `.`, `*`, `>`, no whitespace, at most 128 characters.
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(key).not.toContain('ben');
  });

  it('say what is wrong, one message per problem', () => {
    const messages = (value: string): string[] => {
      const result = emailAddress.safeParse(value);
      return result.success ? [] : result.error.issues.map((i) => i.message);
    };
    expect(messages('ben@sequent.io')).toEqual([]);
    expect(messages('')[0]).toBe('Enter an e-mail address');
    expect(messages('ben@')).toEqual(['Enter an e-mail address like ben@sequent.io']);
  });
});
