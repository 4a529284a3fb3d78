import type { ProcessCommand } from './process-command.js';
import type { ProcessEvent } from './process-event.js';

/**
 * A command of the process that got a definite answer other than ok, handed to `onRejected`:
 * `rejected`, the target refused it by a business rule (`reason`, the target's `version`);
 * `failed`, a definite error (`code`: UNKNOWN_COMMAND, VALIDATION_FAILED, UNKNOWN_AGGREGATE,
 * COMMAND_ID_REUSED…). Either way the target wrote nothing. Timeouts and retryable errors never
 * come here: they are retried with the same command id.
 */
export interface ProcessRejection {
  readonly outcome: 'rejected' | 'failed';
  /** The command as the process emitted it. */
  readonly command: ProcessCommand;
  readonly commandId: string;
  /** The rejection's reason, or the error's message. */
  readonly reason: string;
  /** `failed`: the error code. */
  readonly code?: string;
  /** `rejected`: the target's version when it refused. */
  readonly version?: number;
  /** The event whose handling emitted the command. */
  readonly trigger: ProcessEvent;
}
