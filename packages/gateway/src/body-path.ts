/**
 * A path in the protocol's request envelope as a path in the gateway's request body: issue paths
 * start at the root of what the caller sent (docs/protocol.md, "Issue paths"), and the gateway's
 * body has `command` (the type) and `payload` at its top level where the envelope has
 * `command.type` and `command.payload`.
 */
export function bodyPath(path: ReadonlyArray<string | number>): Array<string | number> {
  if (path[0] === 'command' && path[1] === 'payload') return ['payload', ...path.slice(2)];
  if (path[0] === 'command' && path[1] === 'type') return ['command', ...path.slice(2)];
  return [...path];
}
