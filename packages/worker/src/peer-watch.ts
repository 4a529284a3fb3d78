import type { Logger } from 'pino';

/** What asking a peer told (the cluster package's `PeerAnswer`; this package does not depend on it). */
type PeerAnswer = 'answers' | 'gone' | 'silent';

/** Asks NATS whether peers' connections are up (the cluster package's `natsPeerLiveness` fits). */
export interface PeerProbe {
  /** Answer on this worker's liveness subject until the returned function is called; `onError` hears a refused or lost subscription. */
  listen(workerId: string, onError: (error: Error) => void): () => Promise<void>;
  /** `answers`: its connection is up; `gone`: nobody listens for `workerId` any more (its connection closed); `silent`: no answer in time. */
  ask(workerId: string): Promise<PeerAnswer>;
  /** Changes whenever this process's own NATS connection is replaced. */
  connectionId(): string | undefined;
}

/** Options of {@link PeerWatch}. */
export interface PeerWatchOptions {
  readonly self: string;
  readonly probe: PeerProbe;
  /** The members to watch (membership's view). */
  readonly members: () => readonly string[];
  /** Called when a member is found gone or back. */
  readonly onChange: () => void;
  /** How often peers are asked (ms). Default 250. */
  readonly intervalMs?: number;
  /** After this worker's own reconnect, how long to wait before judging peers (ms): they may be reconnecting too. Default 2,000. */
  readonly settleMs?: number;
  readonly logger: Logger;
}

/**
 * Finds members whose NATS connection is gone (SIGKILL, OOM, a closed socket) long before their
 * membership key expires: each member answers on its liveness subject, and NATS answers "no
 * responders" the moment a connection closes. A member gone on two asks 50 ms apart is reported;
 * a member that answers again is taken back. Only a member heard answering before can be found
 * gone: one whose liveness subscription never worked (its NATS user may not subscribe to the
 * subject, an older version) is left to its lease, never taken from while alive. Right after this
 * worker's own reconnect (a NATS restart) nobody is judged for `settleMs`, since peers are
 * reconnecting too.
 */
export class PeerWatch {
  readonly #options: PeerWatchOptions;
  readonly #gone = new Set<string>();
  /** Members heard answering since they were last found gone: only these can be found gone. */
  readonly #heard = new Set<string>();
  readonly #checking = new Set<string>();
  #stopListening: (() => Promise<void>) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #connection: string | undefined;
  /** When this worker's own connection last changed (a reconnect); never, at start. */
  #connectedAt = Number.NEGATIVE_INFINITY;

  constructor(options: PeerWatchOptions) {
    this.#options = options;
  }

  /** Members found gone (their connection closed) and not back since. */
  gone(): ReadonlySet<string> {
    return this.#gone;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stopListening = this.#options.probe.listen(this.#options.self, (err) =>
      this.#options.logger.error(
        { err },
        "cannot answer on the liveness subject (may this NATS user subscribe to ratchet.worker.<id>.alive?): peers fall back to this worker's lease; trying again",
      ),
    );
    this.#connection = this.#options.probe.connectionId();
    this.#schedule();
  }

  /**
   * Stop judging peers but keep answering on this worker's own subject: a worker on its way out
   * takes no partitions, and peers must not see it gone while it still hands its own over.
   */
  stopJudging(): void {
    this.#running = false;
    clearTimeout(this.#timer);
  }

  async stop(): Promise<void> {
    this.stopJudging();
    await this.#stopListening?.();
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => void this.#look().finally(() => this.#schedule()), this.#options.intervalMs ?? 250);
    this.#timer.unref();
  }

  /** Start a check of every peer not being checked already; a hung check (a request to a process that just died) delays only its own peer. */
  async #look(): Promise<void> {
    const { probe, self } = this.#options;
    const connection = probe.connectionId();
    if (connection !== this.#connection) {
      this.#connection = connection;
      this.#connectedAt = performance.now();
    }
    if (connection === undefined || performance.now() - this.#connectedAt < (this.#options.settleMs ?? 2_000)) return;
    const members = new Set(this.#options.members());
    for (const m of this.#heard) if (!members.has(m)) this.#heard.delete(m); // left: heard again when it rejoins
    const peers = [...new Set([...members, ...this.#gone])].filter((m) => m !== self && !this.#checking.has(m));
    for (const member of peers) {
      this.#checking.add(member);
      void this.#check(member).finally(() => this.#checking.delete(member));
    }
  }

  /**
   * Ask whether `member` is gone; one found gone is asked again 50 ms later (a one-off "no
   * responders", e.g. a subscription being renewed, is not enough). A member never heard
   * answering is not judged.
   */
  async #check(member: string): Promise<void> {
    const { probe, logger } = this.#options;
    const ask = (): Promise<PeerAnswer> => probe.ask(member).catch(() => 'silent' as const);
    let answer = await ask();
    if (answer === 'gone' && this.#heard.has(member)) {
      await new Promise((r) => setTimeout(r, 50));
      answer = await ask();
    }
    if (!this.#running) return;
    if (answer === 'answers') {
      this.#heard.add(member);
      if (this.#gone.delete(member)) {
        logger.info({ member }, 'member answers on NATS again');
        this.#options.onChange();
      }
    } else if (answer === 'gone' && this.#heard.delete(member)) {
      this.#gone.add(member);
      logger.warn(
        { member },
        'member gone from NATS (no responders on its liveness subject): taking its partitions without waiting for its lease',
      );
      this.#options.onChange();
    }
  }
}
