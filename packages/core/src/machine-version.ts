import { createHash } from 'node:crypto';

/**
 * A version string derived from a machine's definition: its config with function bodies as source
 * text, plus anything else that changes how events fold (event schema versions). Two definitions
 * that fold differently get different versions, so a snapshot taken by one is ignored by the other.
 */
export function deriveMachineVersion(parts: readonly unknown[]): string {
  const seen = new WeakSet<object>();
  const text = JSON.stringify(parts, (_key, value: unknown) => {
    if (typeof value === 'function') return `fn:${value.toString()}`;
    if (typeof value === 'object' && value !== null) {
      if (seen.has(value)) return '[cycle]';
      seen.add(value);
    }
    return value;
  });
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
