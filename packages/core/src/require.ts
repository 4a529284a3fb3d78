import { ErrorCode, RatchetError } from './errors.js';

/**
 * `map.get(key)` for a key the caller knows is there (it put it there, or read the map's own
 * keys): a missing entry is a bug, thrown as an INTERNAL error naming `what` and the key instead of
 * going on with `undefined`. Allocates nothing unless it throws.
 * @example const position = requireEntry(positions, streamId, 'position of stream');
 */
export function requireEntry<K, V>(map: ReadonlyMap<K, V>, key: K, what: string): V {
  const value = map.get(key);
  if (value === undefined) throw new RatchetError(ErrorCode.INTERNAL, `${what} ${String(key)} is missing`);
  return value;
}

/**
 * `list[index]` for an index the caller knows is in range: out of range (or a hole) is a bug,
 * thrown as an INTERNAL error naming `what`. Allocates nothing unless it throws.
 * @example const first = requireItem(rows, 0, 'row of SELECT now()');
 */
export function requireItem<T>(list: ArrayLike<T>, index: number, what: string): T {
  const value = list[index];
  if (value === undefined) throw new RatchetError(ErrorCode.INTERNAL, `${what} [${index}] is missing (length ${list.length})`);
  return value;
}
