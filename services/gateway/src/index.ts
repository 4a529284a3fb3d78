export { GatewayConfigSchema } from './gateway-config.js';
export type { GatewayConfig } from './gateway-config.js';
export { readYourWrites } from './read-your-writes.js';
