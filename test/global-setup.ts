// One Postgres and one NATS for the whole run: DATABASE_URL / NATS_URL when set (they must answer),
// else servers started from the binaries on PATH into temp dirs. Test workers inherit the env vars;
// each test file makes its own database with createTestDatabase().
import { ensureServers } from '@ratchet/launchers';

export default async function setup(): Promise<() => Promise<void>> {
  const servers = await ensureServers();
  return () => servers.teardown();
}
