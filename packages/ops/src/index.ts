export { loadConfig } from './load-config.js';
export { startOpsServer } from './ops-server.js';
export type { OpsRoute, OpsServer, OpsServerOptions } from './ops-server.js';
export { onShutdown } from './on-shutdown.js';
export { envBool, envInt, envLogLevel, envMasterKey } from './env-schemas.js';
export { retryAtStart } from './retry-at-start.js';
export { exitWithParent } from './exit-with-parent.js';
export { crashPoint } from './crash-point.js';
