export { createPostgresEventStore } from './postgres-event-store.js';
export type {
  AppendBatchOptions,
  PostgresEventStore,
  PostgresEventStoreOptions,
  ReadStreamOptions,
} from './postgres-event-store.js';
export type {
  AppendOptions,
  AppendOutcome,
  AppendRequest,
  AppendResult,
  ExpectedVersion,
  Fence,
  ProcessedCommand,
} from './append-request.js';
export { COMMAND_ID_MAX_LENGTH, STREAM_ID_MAX_LENGTH } from './encode-append-request.js';
export { handlePoolErrors } from './handle-pool-errors.js';
export { FEED_START } from './feed-checkpoint.js';
export type { FeedCheckpoint, FeedHead, FeedPage } from './feed-checkpoint.js';
export type { MigrationReport } from './run-migrations.js';
export type { FeedStore } from './store-feed.js';
export type { NamedLeaseStore } from './store-named-leases.js';
export type { PartitionStore } from './store-partitions.js';
export type { StoredTimer, TimerStore } from './store-timers.js';
export type { PartitionClaim, PartitionEpoch, PartitionLeaseRenewal } from './partition-epoch.js';
export type { Snapshot, SnapshotInput } from './snapshot.js';
export { EventCipher } from './event-cipher.js';
export type { EventCipherOptions, ForgetCallback, SealedEvents } from './event-cipher.js';
export type { LoadAtOptions, LoadAtTarget, StateAt } from './load-at.js';
export { MasterKey, parseMasterKey } from './master-key.js';
export { SensitiveDataError } from './sensitive-data-error.js';
export type { SensitiveDataFailure } from './sensitive-data-error.js';
export { SEALED_KEY } from './sealed-value.js';
export type { SealedEnvelope } from './sealed-value.js';
export type { SubjectKeyRow, SubjectKeyStore } from './store-subject-keys.js';
export { SubjectKeys } from './subject-keys.js';
export type { SubjectKeyState, SubjectKeysOptions } from './subject-keys.js';
export { SubjectKey } from './subject-key.js';
