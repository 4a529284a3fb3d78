import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * An author's e-mail address as a command carries it: trimmed, required, at most 254 characters
 * (RFC 5321's limit), shaped like an address. The one schema of an e-mail in the bookstore.
 */
export const emailAddress = z
  .string()
  .trim()
  .min(1, 'Enter an e-mail address')
  .max(254, 'An e-mail address has at most 254 characters')
  .check(z.email('Enter an e-mail address like ben@sequent.io'));

/**
 * The form of an address that uniqueness is decided on: trimmed and lower-cased, so
 * `Ben@Sequent.io` and `ben@sequent.io ` are one address. (Strictly, only the domain is
 * case-insensitive; every mail provider people use treats the local part so too.)
 */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * The id of an address's `email` aggregate: the SHA-256 of its normalized form, in hex. A hash
 * because an aggregate id may not contain `.` and must stay under 128 characters, and because ids
 * end up in NATS subjects, logs and every stored event row, where an address should not be.
 * @example
 * emailKey(' Ben@Sequent.io') === emailKey('ben@sequent.io'); // true
 */
export function emailKey(email: string): string {
  return createHash('sha256').update(normalizeEmail(email), 'utf8').digest('hex');
}
