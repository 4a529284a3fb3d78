// The visit aggregate as an app module, for worker processes in the timer fault tests
// (RATCHET_APP=test/support/visit-app.ts). VISIT_TIMEOUT_MS sets the delay (default 3 s).
import { defineApp } from '@ratchet/app';
import { defineVisit } from './visit-aggregate.js';

export default defineApp({
  name: 'visits',
  aggregates: [defineVisit({ visitTimeoutMs: Number(process.env.VISIT_TIMEOUT_MS ?? 3_000) })],
});
