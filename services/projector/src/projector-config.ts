import { envBool, envInt, envLogLevel, envMasterKey } from '@ratchet/ops';
import { z } from 'zod';

/** The projector process's environment, validated. Every variable and default is listed in docs/operations.md. */
export const ProjectorConfigSchema = z
  .object({
    /** The app module whose projections to run, relative to the working directory; default the turnstile app. A path argument wins over it. */
    RATCHET_APP: z.string().optional(),
    NATS_URL: z.string().min(1, 'NATS_URL is required (e.g. nats://127.0.0.1:4222)'),
    DATABASE_URL: z.string().url('DATABASE_URL must be a postgres:// URL'),
    /** Opens sealed sensitive values for the handlers (docs/sensitive-data.md): the workers' master key. */
    RATCHET_MASTER_KEY: envMasterKey,
    HTTP_PORT: envInt(0, 8081).pipe(z.number().max(65535)),
    LOG_LEVEL: envLogLevel,
    PG_POOL_SIZE: envInt(2, 8),
    PROJECTOR_BATCH_SIZE: envInt(1, 200).pipe(z.number().max(5_000)),
    /** What batches grow to while a backlog waits; unset: 2,000, or PROJECTOR_BATCH_SIZE if that is larger. */
    PROJECTOR_MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(20_000).optional(),
    PROJECTOR_MAX_ATTEMPTS: envInt(1, 5).pipe(z.number().max(100)),
    PROJECTOR_ACK_WAIT_MS: envInt(1_000, 30_000),
    PROJECTOR_AUTO_SWITCH: envBool(true),
    /** Run the app's process managers beside its projections (false: projections only, e.g. to run processes in processes of their own). */
    PROJECTOR_PROCESSES: envBool(true),
    /** Run the app's projections (false: process managers only). */
    PROJECTOR_PROJECTIONS: envBool(true),
    /** Partitions per aggregate type, as the workers have them: process managers send commands to their owners. */
    RATCHET_PARTITIONS: envInt(1, 64).pipe(z.number().max(4096)),
    /** Events per process batch while a process keeps up. */
    PROCESS_BATCH_SIZE: envInt(1, 100).pipe(z.number().max(5_000)),
    /** Sends of one process command (each up to PROCESS_SEND_TIMEOUT_MS) before its event is parked as unanswered. */
    PROCESS_MAX_SENDS: envInt(1, 10).pipe(z.number().max(1_000)),
    PROCESS_SEND_TIMEOUT_MS: envInt(100, 5_000),
    /** How often events parked as unanswered are tried again (ms); 0 never. */
    PROCESS_UNANSWERED_RETRY_MS: envInt(0, 30_000),
    DRAIN_TIMEOUT_MS: envInt(0, 10_000),
  })
  .refine((c) => c.PROJECTOR_MAX_BATCH_SIZE === undefined || c.PROJECTOR_MAX_BATCH_SIZE >= c.PROJECTOR_BATCH_SIZE, {
    message: 'must be at least PROJECTOR_BATCH_SIZE',
    path: ['PROJECTOR_MAX_BATCH_SIZE'],
  });

/** The projector process's validated config. */
export type ProjectorConfig = z.output<typeof ProjectorConfigSchema>;
