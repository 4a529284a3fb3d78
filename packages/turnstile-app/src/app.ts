// The app module the worker, projector and dashboard load when RATCHET_APP is unset (and the one
// the demo names): RATCHET_APP=packages/turnstile-app/src/app.ts loads the same thing.
import { defineTurnstileApp } from './define-turnstile-app.js';
import { stationVisitTimeoutMs } from './station-visit-timeout.js';
import { turnstileProjectionVersions } from './turnstile-projection-versions.js';

export default defineTurnstileApp({ projectionVersions: turnstileProjectionVersions(), stationVisitTimeoutMs: stationVisitTimeoutMs() });
