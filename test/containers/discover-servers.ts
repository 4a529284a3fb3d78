// Run by server-discovery.test.ts in a mount namespace where the nats-server and Postgres binaries
// are hidden: ensureServers() must then find both in containers. Prints one JSON line (RESULT …).
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { LauncherError, ensureServers, startNatsServer, startPostgresServer } from '@ratchet/launchers';
import pg from 'pg';

async function notFound(start: () => Promise<{ stop(): Promise<void> }>): Promise<string> {
  try {
    await (await start()).stop();
    return 'binary found';
  } catch (error) {
    return error instanceof LauncherError ? error.code : String(error);
  }
}

const binaries = { postgres: await notFound(() => startPostgresServer()), nats: await notFound(() => startNatsServer()) };
const servers = await ensureServers({ required: true, log: (line) => console.error(line) });
let answers: { postgres: string; jetstream: boolean } | undefined;
try {
  const client = new pg.Client({ connectionString: servers.databaseUrl });
  await client.connect();
  const version = (await client.query<{ v: string }>('SELECT version() AS v')).rows[0]!.v;
  await client.end();
  const nc = await connect({ servers: servers.natsUrl });
  const account = await (await jetstreamManager(nc)).getAccountInfo();
  await nc.close();
  answers = { postgres: version, jetstream: account.limits !== undefined };
} finally {
  await servers.teardown();
}
console.log(
  `RESULT ${JSON.stringify({ binaries, summary: servers.summary, databaseUrl: servers.databaseUrl, natsUrl: servers.natsUrl, answers })}`,
);
