import { request } from 'node:http';

/**
 * Whether a Docker engine answers `GET /_ping` on its unix socket within `timeoutMs`.
 * The socket is DOCKER_HOST when it is `unix://…`, else /var/run/docker.sock. Never throws.
 * Gate testcontainers on it: the build machines have the docker CLI but no engine.
 */
export function dockerAvailable(timeoutMs = 1_000, socketPath = defaultDockerSocket()): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'OK'));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

function defaultDockerSocket(): string {
  const host = process.env.DOCKER_HOST;
  return host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
}
