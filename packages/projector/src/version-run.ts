import type { Logger } from 'pino';
import type { Projection } from './define-projection.js';
import type { RunnerSettings } from './runner-settings.js';
import type { VersionApplier } from './version-applier.js';

/**
 * What the steps of one running projection version share (the rebuild, the feed and JetStream
 * followers): its settings, the applier every batch goes through, the runner's stop signal and
 * where lag is reported.
 */
export interface VersionRun {
  readonly projection: Projection;
  readonly settings: RunnerSettings;
  /** The projector's logger bound to this version. */
  readonly log: Logger;
  readonly applier: VersionApplier;
  /** Aborted when the runner stops: each loop ends at its next check. */
  readonly signal: AbortSignal;
  /** Events not yet applied (consumer pending and unacked, or feed events left); sets the lag gauge too. */
  reportLag(events: number): void;
}
