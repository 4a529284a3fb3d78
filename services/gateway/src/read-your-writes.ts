import type { NatsConnection } from '@nats-io/transport-node';
import type { App } from '@ratchet/app';
import { createPostgresEventStore } from '@ratchet/event-store-postgres';
import type { GatewayProjections } from '@ratchet/gateway';
import { createProjector } from '@ratchet/projector';
import type pg from 'pg';

/**
 * `?waitFor=` for the gateway process: the projector package's read-your-writes (`waitFor`, which
 * polls a projection's positions in the read-model database), on a projector made for that alone
 * and never started — the projections run in services/projector. Undefined when the app has none.
 */
export function readYourWrites(app: App, pool: pg.Pool, nats: NatsConnection, timeoutMs: number): GatewayProjections | undefined {
  if (app.projections.length === 0) return undefined;
  const projector = createProjector({ nats, pool, store: createPostgresEventStore({ pool }), projections: app.projections });
  return { definitions: app.projections, waiter: projector, timeoutMs };
}
