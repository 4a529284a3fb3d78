/** Deepest nesting of objects and arrays accepted in a message, the envelope counting as level 1. */
export const MAX_JSON_DEPTH = 32;

/** Keys refused at any depth: they poison prototypes when a handler merges the payload into an object. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Whether a parsed JSON value nests objects/arrays deeper than `maxDepth` levels. */
export function exceedsDepth(value: unknown, maxDepth: number = MAX_JSON_DEPTH): boolean {
  const exceeds = (v: unknown, level: number): boolean => {
    if (v === null || typeof v !== 'object') return false;
    if (level > maxDepth) return true;
    const children = Array.isArray(v) ? v : Object.values(v);
    return children.some((child) => exceeds(child, level + 1));
  };
  return exceeds(value, 1);
}

/** Paths to every forbidden key in a parsed JSON value (bounded by depth checked beforehand). */
export function forbiddenKeyPaths(value: unknown, limit = 16): Array<Array<string | number>> {
  const found: Array<Array<string | number>> = [];
  const walk = (v: unknown, path: Array<string | number>): void => {
    if (found.length >= limit || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      v.forEach((child, i) => {
        walk(child, [...path, i]);
      });
      return;
    }
    for (const [key, child] of Object.entries(v)) {
      if (FORBIDDEN_KEYS.has(key)) found.push([...path, key]);
      walk(child, [...path, key]);
    }
  };
  walk(value, []);
  return found.slice(0, limit);
}
