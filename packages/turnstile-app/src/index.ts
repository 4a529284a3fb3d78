export { default } from './app.js';
export { defineTurnstileApp } from './define-turnstile-app.js';
export type { TurnstileApp, TurnstileAppOptions } from './define-turnstile-app.js';
export { turnstileProjectionVersions } from './turnstile-projection-versions.js';
export type { TurnstileProjectionVersion } from './turnstile-projection-versions.js';
