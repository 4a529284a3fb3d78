// The runtime entry (`@ratchet/process/runner`): app modules import definitions from the main
// entry on every process and need none of this (Postgres, JetStream, the client).
export { createProcessRunner, ProcessRunner } from './process-runner.js';
export type { ProcessRunnerOptions, ProcessStatus } from './process-runner.js';
export type { ProcessPhase } from './process-follower.js';
export type { ProcessRunnerStore } from './process-runner-store.js';
export { ProcessMetrics } from './process-metrics.js';
export { ProcessCrashPoint } from './crash-point.js';
export { createCommandSender, BatchAborted } from './command-sender.js';
export type { CommandSender, SendPolicy } from './command-sender.js';
export { runProcessBatch } from './process-batch.js';
export type { BatchContext, BatchOptions, BatchReport, GapReader } from './process-batch.js';
export { ProcessConflictError } from './save-batch.js';
export { migrateProcessSchema, registerProcess, PROCESSES_SCHEMA } from './process-schema.js';
export { readProcessStates, readParkedTriggers, hasProcessSchema } from './read-process-states.js';
export type { ParkedTrigger, ProcessState } from './read-process-states.js';
