// `npm test` with servers that do not answer: the first thing it says is which variable names a
// server that does not answer (both, when neither does), not vitest's "No test files found".
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));
const VITEST = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Run vitest on one small unit test file with these server URLs; resolves with its output, ANSI colours removed. */
function runVitest(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VITEST, 'run', '--project', 'unit', 'packages/cli/src/format-table.test.ts'], {
      cwd: root,
      env: { ...process.env, CI: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes, which start with ESC
    child.once('close', (code) => resolve({ code, output: output.replace(/\u001b\[[0-9;]*m/g, '') }));
  });
}

/** The lines after vitest's RUN header, blank ones dropped. */
const firstLines = (output: string): string[] =>
  output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('RUN '));

describe('npm test without servers that answer', () => {
  it('says first which of DATABASE_URL and NATS_URL does not answer, and exits 1', { timeout: 120_000 }, async () => {
    const port = await closedPort();
    const good = { DATABASE_URL: process.env.DATABASE_URL!, NATS_URL: process.env.NATS_URL! };
    const badPostgres = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const badNats = `nats://127.0.0.1:${port}`;
    const [natsOnly, both] = await Promise.all([
      runVitest({ ...good, NATS_URL: badNats }),
      runVitest({ DATABASE_URL: badPostgres, NATS_URL: badNats }),
    ]);

    expect(natsOnly.code).toBe(1);
    expect(firstLines(natsOnly.output)[0]).toBe(
      `[ratchet] cannot run the tests: NATS_URL=${badNats} is set but NATS does not answer there; start it, fix the URL, or unset NATS_URL to have one started`,
    );
    expect(both.code).toBe(1);
    expect(firstLines(both.output).slice(0, 2)).toEqual([
      `[ratchet] cannot run the tests: DATABASE_URL=${badPostgres} is set but Postgres does not answer there; start it, fix the URL, or unset DATABASE_URL to have one started`,
      `NATS_URL=${badNats} is set but NATS does not answer there; start it, fix the URL, or unset NATS_URL to have one started`,
    ]);
    for (const run of [natsOnly, both]) {
      expect(run.output).not.toContain('No test files found');
      expect(run.output).not.toMatch(/\bat .+:\d+:\d+/);
    }
  });
});
