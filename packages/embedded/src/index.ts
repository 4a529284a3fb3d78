export { createPglitePool, PgliteClosedError } from './pglite-pool.js';
export { InProcessNats } from './in-process-nats.js';
export type { InProcessConnection, InProcessSubscription } from './in-process-nats.js';
export { subjectMatches } from './subject-match.js';
