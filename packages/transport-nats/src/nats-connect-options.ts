import { ValidationError } from '@ratchet/core';

/** What {@link natsConnectOptions} hands to nats.js `connect()`. */
export interface NatsServerOptions {
  /** The server URLs without credentials. */
  readonly servers: string[];
  /** From `nats://user:pass@host`, percent-decoded. */
  readonly user?: string;
  readonly pass?: string;
  /** From `nats://token@host` (user info without a password). */
  readonly token?: string;
}

/**
 * Split a comma-separated NATS URL list into nats.js connect options, moving the credentials out
 * of the URLs. nats.js ignores user info in a server URL, so `nats://worker:secret@nats-1:4222`
 * (the form every deploy/ file uses) would otherwise connect without credentials and be refused.
 * Every URL that carries credentials must carry the same ones: one connection has one identity.
 * @throws ValidationError on an unparsable URL or two different credentials.
 * @example
 * const nc = await connect({ ...natsConnectOptions(process.env.NATS_URL!), name: 'worker-1' });
 */
export function natsConnectOptions(urls: string): NatsServerOptions {
  const servers: string[] = [];
  let credentials: { user?: string; pass?: string; token?: string } | undefined;
  let seen: string | undefined;
  for (const raw of urls
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    // nats.js accepts "host:port" without a scheme; so do we.
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `nats://${raw}`;
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch (cause) {
      throw new ValidationError('NATS URL is not a URL', [{ path: ['NATS_URL'], message: `cannot parse "${redact(raw)}"` }], { cause });
    }
    if (url.username !== '' || url.password !== '') {
      const user = decodeURIComponent(url.username);
      const pass = decodeURIComponent(url.password);
      const these = url.password === '' ? { token: user } : { user, pass };
      const key = JSON.stringify(these);
      if (seen !== undefined && seen !== key) {
        throw new ValidationError('NATS URLs carry different credentials', [
          {
            path: ['NATS_URL'],
            message: 'every URL with credentials must carry the same user and password (one connection, one identity)',
          },
        ]);
      }
      seen = key;
      credentials = these;
      url.username = '';
      url.password = '';
    }
    servers.push(url.toString().replace(/\/$/, ''));
  }
  return { servers, ...credentials };
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
