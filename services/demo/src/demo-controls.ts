/** A worker as the dashboard sees it. */
export interface DemoWorkerInfo {
  readonly id: string;
  readonly pid: number;
  readonly httpPort: number | null;
  readonly alive: boolean;
  /** How it ended: exit code or signal, or null while alive. */
  readonly exit: number | string | null;
}

/** Workers that run as processes of their own: the dashboard can add and kill them. */
export interface ScalableWorkers {
  /** Start one more worker. */
  addWorker(): Promise<DemoWorkerInfo>;
  /** SIGKILL a worker by id; undefined when there is no such worker. */
  killWorker(id: string): DemoWorkerInfo | undefined;
}

/** Workers that cannot change (one process): every POST is answered 409 with `fixed`. */
export interface FixedWorkers {
  /** Why workers cannot be added or killed. */
  readonly fixed: string;
}

/** What the demo's control endpoint serves to the dashboard. */
export type DemoControls = (ScalableWorkers | FixedWorkers) & {
  /** The workers started so far, dead ones included. */
  workers(): readonly DemoWorkerInfo[];
  /** `GET /cluster`, for a worker without an ops server of its own (the embedded one). */
  clusterView?(): Promise<unknown>;
};
