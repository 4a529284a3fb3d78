// The Docker engine and the compose tool, as the container tests use them: a test that needs Docker
// fails with a message saying how to get one, never skips.
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Whether a Docker engine answers `GET /_ping` on its socket (DOCKER_HOST when unix://, else /var/run/docker.sock). */
export function dockerAnswers(timeoutMs = 2_000): Promise<boolean> {
  const host = process.env.DOCKER_HOST;
  const socketPath = host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Throw, with what to do, unless a Docker engine answers. */
export async function requireDocker(): Promise<void> {
  if (await dockerAnswers()) return;
  throw new Error(
    'no Docker engine answers (DOCKER_HOST or /var/run/docker.sock): the container tests need one. ' +
      'Start it with deploy/scripts/start-docker.sh (root), or run `npm test` for the tests that need no Docker.',
  );
}

/** Run `docker …`; resolves with stdout, rejects with stderr in the message. */
export async function docker(args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  return exec('docker', args, options);
}

/** The compose tool found here: `docker compose` (v2) or `docker-compose` (v1, Debian's 1.29). */
export async function findCompose(): Promise<readonly string[]> {
  if (
    await exec('docker', ['compose', 'version']).then(
      () => true,
      () => false,
    )
  )
    return ['docker', 'compose'];
  if (
    await exec('docker-compose', ['--version']).then(
      () => true,
      () => false,
    )
  )
    return ['docker-compose'];
  throw new Error('neither `docker compose` nor `docker-compose` is installed (Debian: apt-get install docker-compose)');
}

export async function exec(
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<string> {
  try {
    const { stdout } = await run(file, [...args], {
      env: options.env ?? process.env,
      cwd: options.cwd,
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 64 * 1024 * 1024,
      encoding: 'utf8',
    });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    const detail = (e.stderr ?? '').trim().split('\n').slice(-20).join('\n');
    throw new Error(`${file} ${args.join(' ')} failed: ${detail || e.message}`, { cause: error });
  }
}
