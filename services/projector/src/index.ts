export { ProjectorConfigSchema } from './projector-config.js';
export type { ProjectorConfig } from './projector-config.js';
