export { default } from './app.js';
export { defineTurnstileApp } from './define-turnstile-app.js';
export type { TurnstileApp, TurnstileAppOptions } from './define-turnstile-app.js';
export { turnstileProjectionVersions } from './turnstile-projection-versions.js';
export type { TurnstileProjectionVersion } from './turnstile-projection-versions.js';
export { technicianDispatch, PUSHES_BEFORE_CALL } from './technician-dispatch.js';
export type { DispatchState } from './technician-dispatch.js';
export { stationVisitTimeoutMs } from './station-visit-timeout.js';
