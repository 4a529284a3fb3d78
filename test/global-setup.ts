// One Postgres and one NATS for the whole run: DATABASE_URL / NATS_URL when set (they must answer),
// else servers started from the binaries on PATH into temp dirs. Test workers inherit the env vars;
// each test file makes its own database with createTestDatabase().
import { ensureServers, LauncherError } from '@ratchet/launchers';

export default async function setup(): Promise<() => Promise<void>> {
  try {
    const servers = await ensureServers();
    return () => servers.teardown();
  } catch (error) {
    if (!(error instanceof LauncherError)) throw error;
    // Thrown, vitest would first print "No test files found, exiting with code 1" and then this
    // under a stack trace. Without the servers no test can run: say why, first and plainly, and stop.
    process.stderr.write(`\n[ratchet] cannot run the tests: ${error.message}\n(README.md, "How tests find servers")\n\n`);
    process.exit(1);
  }
}
