export { WorkerConfigSchema } from './worker-config.js';
export type { WorkerConfig } from './worker-config.js';
