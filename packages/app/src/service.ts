// A service's start-up is its own entry (`@ratchet/app/service`): it loads apps (`@ratchet/app/load`)
// and reads config and logs (@ratchet/ops, pino), which app modules need none of.
export { startService } from './start-service.js';
export type { ServiceConfig, StartedService, StartServiceOptions } from './start-service.js';
