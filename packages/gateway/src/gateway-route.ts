/** What a request's path asks for; `rawType` and `rawId` still percent-encoded. */
export type GatewayRoute =
  | { readonly kind: 'command'; readonly rawType: string; readonly rawId: string | undefined; readonly query: URLSearchParams }
  | { readonly kind: 'openapi' }
  | { readonly kind: 'none'; readonly path: string };

/** The path of the OpenAPI document. */
export const OPENAPI_PATH = '/openapi.json';

const COMMAND_PATH = /^\/commands\/([^/]*)(?:\/(.*))?$/;

/**
 * Route a request target: `/commands/<type>/<id>` (the id is the whole rest of the path, so an id
 * with `/` may be sent as `a/b` or `a%2Fb`), `/openapi.json`, or nothing. Parsed by hand rather
 * than with `URL`, which would resolve `..` segments and so rewrite ids.
 */
export function routeOf(target: string): GatewayRoute {
  // An absolute-form target (`POST http://host/commands/…`, as sent to proxies) routes by its path.
  const originForm = target.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '');
  const q = originForm.indexOf('?');
  const path = q === -1 ? originForm : originForm.slice(0, q);
  const query = new URLSearchParams(q === -1 ? '' : originForm.slice(q + 1));
  if (path === OPENAPI_PATH) return { kind: 'openapi' };
  const match = COMMAND_PATH.exec(path);
  if (match === null) return { kind: 'none', path };
  return { kind: 'command', rawType: match[1] ?? '', rawId: match[2], query };
}

/** A percent-decoded path segment, or undefined when it is not valid percent-encoded UTF-8. */
export function decodePathSegment(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}
