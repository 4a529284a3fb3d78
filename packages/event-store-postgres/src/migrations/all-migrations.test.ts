import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from './all-migrations.js';

/**
 * The sha256 of each migration's SQL for the schema `"ratchet"`, recorded when it shipped (1 to 7:
 * the text the old builder in migrations.ts rendered). A shipped migration is text that never
 * changes, because databases that ran it will never run it again: a mismatch means shipped history
 * was edited, and the change belongs in a new migration (the package README, "Adding a migration").
 * A new migration adds its line here when it ships.
 */
const SHIPPED: ReadonlyArray<readonly [version: number, sha256: string]> = [
  [1, '6d933e53f65ed0143073d97cc62dfef8024e755ad313b072200b809282b87e17'],
  [2, 'ccfbcae9114df2935aee50c46c80752ff4d6fc18080289490dfcd6c3ac4f7406'],
  [3, '07ffd95b005a0325b422460a7ecf082618a8fde7f06a68b7a9cd313a115863e8'],
  [4, 'c5d76c778605530f1fa6aee4bb67bd6b37c42fead476f19673d5eb270a055cd5'],
  [5, 'cc1779890257562c2b35584d034cef08e6d0e147b751a05bd868fd5247e02dc2'],
  [6, '611c365f8bd3f22a83bd6f1576542d319ab7c9b1f5ecc4bef32786aa6322f1f5'],
  [7, '94d757be10910b848bb5d70a519127a543c26e9e596f492607b9f3ae4974961c'],
  [8, 'ad3ac5fffbdbe544310cd5ed74ffc0e324bc8471f8503ec8eafab0f4f04c45a0'],
  [9, 'e566df8a972234ae2d6bfc4a1659b572f4b626a0f5e434f3d492cc934ab24379'],
  [10, '9164f1637e631d62237e438c9ed301142dadd02a0f7f1c938cf4f33be3492b23'],
  [11, '53e3a4f0289d49aea6ae636a570ae3d44a7c79ddf40a5f10d1b7ff0c79a39218'],
];

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('MIGRATIONS', () => {
  it('numbers the migrations 1, 2, 3, ... in order, each with a name of its own', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(new Set(MIGRATIONS.map((m) => m.name)).size).toBe(MIGRATIONS.length);
  });

  it('holds every shipped migration exactly as it shipped', () => {
    expect(MIGRATIONS.map((m) => [m.version, sha256(m.sql('"ratchet"'))])).toEqual(SHIPPED);
  });
});
