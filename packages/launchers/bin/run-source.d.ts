/**
 * Run `main` (a TypeScript file) in a child node with tsx and the "source" export condition, with
 * this process's arguments, as `command` (named in the error when node cannot start); this process
 * exits as the child did. What the bin shims of `ratchet` and `ratchet-check` share in a checkout.
 */
export function runSource(command: string, main: string): void;
