// `npm run demo -- --headless` in embedded mode (RATCHET_DEMO_INFRA=embedded, so the machine's
// servers and binaries do not matter): PGlite and the in-process transport in one process. It must
// say it is not distributed, exit 0, and print a JSON summary with no failed command and the read
// model (built by the projector from the store's feed) equal to the fold of the event store.
import { afterAll, describe, expect, it } from 'vitest';
import { startDemo, type DemoProcess } from '../demo/demo-process.js';

describe('demo --headless, embedded', () => {
  let demo: DemoProcess | undefined;

  afterAll(async () => {
    await demo?.stop();
  }, 60_000);

  // PGlite's cold start takes seconds, and far more on a loaded machine.
  it('runs in one process, says "not distributed", and prints a consistent JSON summary', { timeout: 240_000 }, async () => {
    demo = startDemo(['--headless', '--duration', '6', '--turnstiles', '200', '--riders', '8', '--rate', '100'], {
      RATCHET_DEMO_INFRA: 'embedded',
      NATS_URL: '',
      DATABASE_URL: '',
    });
    expect(await demo.exited).toBe(0);
    const warning = demo.logs.find((l) => l.msg === 'embedded mode: not distributed (PGlite + in-process transport)');
    expect(warning, 'the embedded warning was not logged').toMatchObject({ level: 40 });
    expect(demo.logs.some((l) => l.msg === 'started nats-server' || l.msg === 'started Postgres')).toBe(false);
    const last = demo.stdout[demo.stdout.length - 1];
    expect(last, 'the demo printed nothing on stdout').toBeDefined();
    const summary = JSON.parse(last!) as Record<string, unknown> & { projection: Record<string, number>; store: Record<string, number> };
    expect(summary).toMatchObject({ failed: 0, consistent: true, distributed: false, workers: 1, turnstiles: 200 });
    expect(summary.sent).toBe((summary.ok as number) + (summary.rejected as number));
    // How many commands fit in 6 s depends on the machine's load: counts are checked for
    // consistency, not for speed (bench/ measures speed).
    expect(summary.ok as number).toBeGreaterThan(0);
    expect(summary.projection).toEqual(summary.store);
    expect(summary.projection.turnstiles).toBeGreaterThan(0);
    expect(demo.stdout.filter((l) => l.trim() !== '')).toHaveLength(1);
  });
});
