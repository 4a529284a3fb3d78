// Internal: look up an OS account, for running Postgres as a non-root user when this process runs as root.
import { readFileSync } from 'node:fs';
import { LauncherError, LauncherErrorCode } from './launcher-error.js';

/** Numeric ids of an OS account. */
export interface OsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** Read `name` from /etc/passwd; throws a LauncherError when there is no such account. */
export function lookupOsUser(name: string): OsUser {
  const passwd = readFileSync('/etc/passwd', 'utf8');
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined) {
      return { name, uid: Number(uid), gid: Number(gid) };
    }
  }
  throw new LauncherError(
    `no OS user "${name}": Postgres refuses to run as root, so the launcher runs it as "${name}" (install the postgresql package or pass { osUser })`,
    { code: LauncherErrorCode.NOT_FOUND },
  );
}
