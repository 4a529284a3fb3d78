export { defineTurnstileProjection, TURNSTILE_TABLES } from './turnstile-projection.js';
export type { TurnstileProjectionOptions } from './turnstile-projection.js';
export { defineStationProjection, STATION_TABLES } from './station-projection.js';
