/**
 * Opens sealed sensitive values in events read straight from the store, as the workers see them
 * (`store.cipher.openEvents`): a check that replays a stream through the app's own code (C10's
 * decide, C11's no-op test, C12's process handlers) must fold what `decide` saw, not ciphertext.
 * Events without sealed values come back as they are.
 */
export type OpenEvents = <E extends { readonly data: unknown }>(events: readonly E[]) => Promise<E[]>;

/** For stores without sealed values (and tests): every event as it is. */
export const asStored: OpenEvents = async (events) => [...events];
