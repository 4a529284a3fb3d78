/** A server started on 127.0.0.1 by a launcher; always `stop()` it (in `afterAll`/`finally` in a test). */
export interface ServerHandle {
  /** The URL clients connect to. */
  readonly url: string;
  /** TCP port; kept across `restart()`. */
  readonly port: number;
  /** Pid of the current server process (changes on `restart()`). */
  readonly pid: number;
  /** Orderly shutdown, SIGKILL after the deadline, wait for the exit; then remove the temp dirs. Idempotent. */
  stop(): Promise<void>;
  /** Send `signal` to the server by pid (SIGKILL for a crash, SIGSTOP/SIGCONT for a stall). */
  kill(signal: NodeJS.Signals): void;
  /** Stop the process if it still runs and start it again on the same port and data (after a kill, crash recovery runs). */
  restart(): Promise<void>;
}
