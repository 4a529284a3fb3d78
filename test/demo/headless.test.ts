// `npm run demo -- --headless`: runs against a private nats-server and a fresh database, exits 0, and
// its last stdout line is the JSON summary with no failed command and the read model equal to the
// fold of the event store.
import { startNatsServer, type NatsServerHandle } from '@ratchet/launchers';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type DemoProcess } from './demo-process.js';

describe('demo --headless', () => {
  let nats: NatsServerHandle;
  let db: TestDatabase;
  let demo: DemoProcess | undefined;

  beforeAll(async () => {
    nats = await startNatsServer();
    db = await createTestDatabase('demo');
  });

  afterAll(async () => {
    await demo?.stop();
    await nats?.stop();
    await db?.drop();
  });

  it('runs riders for the duration and prints a consistent JSON summary as its last line', { timeout: 180_000 }, async () => {
    demo = startDemo(['--headless', '--duration', '10', '--turnstiles', '200', '--riders', '8', '--rate', '100'], {
      NATS_URL: nats.url,
      DATABASE_URL: db.url,
    });
    expect(await demo.exited).toBe(0);
    const last = demo.stdout[demo.stdout.length - 1];
    expect(last, 'the demo printed nothing on stdout').toBeDefined();
    const summary = JSON.parse(last!) as Record<string, unknown> & {
      projection: Record<string, number>;
      store: Record<string, number>;
      latencyMs: Record<string, number>;
    };
    expect(summary).toMatchObject({ failed: 0, consistent: true, workers: 3, turnstiles: 200 });
    expect(summary.sent).toBe((summary.ok as number) + (summary.rejected as number));
    expect(summary.ok as number).toBeGreaterThan(200); // the installs, then riders
    expect(summary.projection).toEqual(summary.store);
    expect(summary.projection.turnstiles).toBeGreaterThan(150);
    expect(summary.latencyMs.p99).toBeGreaterThanOrEqual(summary.latencyMs.p50!);
    // Nothing but the summary on stdout: logs go to stderr.
    expect(demo.stdout.filter((l) => l.trim() !== '')).toHaveLength(1);
  });
});
