export { DashboardConfigSchema } from './dashboard-config.js';
export type { DashboardConfig } from './dashboard-config.js';
export { startDashboard } from './dashboard-server.js';
export type { Dashboard, DashboardOptions } from './dashboard-server.js';
export { ReadModel } from './read-model.js';
export type { Totals, TurnstileRow } from './read-model.js';
export { readCluster } from './cluster-view.js';
export type { ClusterSnapshot, WorkerView } from './cluster-view.js';
