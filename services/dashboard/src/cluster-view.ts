/** A worker as the page shows it. */
export interface WorkerView {
  readonly id: string;
  readonly pid: number | null;
  /** The ops URL, when known. */
  readonly url: string | null;
  /** The process is running (per the launcher) and its /cluster answered. */
  readonly up: boolean;
  /** Partitions it serves now (from its /cluster). */
  readonly owned: readonly number[];
  /** How the process ended, when the launcher knows. */
  readonly exit: number | string | null;
}

/** Workers and the partition table. */
export interface ClusterSnapshot {
  readonly workers: readonly WorkerView[];
  /** Per partition: owner (from Postgres, via a worker's /cluster) and epoch. */
  readonly partitions: ReadonlyArray<{ readonly partition: number; readonly owner: string | null; readonly epoch: number }>;
  /** Whether these workers can be killed and added from the page. */
  readonly controllable: boolean;
}

interface LauncherWorker {
  id: string;
  pid: number;
  httpPort: number | null;
  alive: boolean;
  exit: number | string | null;
}

interface WorkerCluster {
  workerId: string;
  partitions: Array<{ partition: number; owner: string | null; epoch: number }>;
  owned: number[];
}

async function getJson<T>(url: string, timeoutMs: number): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/**
 * Ask each worker for its /cluster: from the demo launcher's list (which also knows killed ones)
 * when there is one, else from fixed ops URLs.
 */
export async function readCluster(
  controlUrl: string | undefined,
  workerUrls: readonly string[],
  timeoutMs = 400,
): Promise<ClusterSnapshot> {
  let known: Array<{ id: string | null; pid: number | null; url: string | null; alive: boolean; exit: number | string | null }>;
  if (controlUrl !== undefined) {
    const list = await getJson<LauncherWorker[]>(`${controlUrl}/workers`, timeoutMs).catch(() => []);
    known = list.map((w) => ({
      id: w.id,
      pid: w.pid,
      url: w.httpPort === null ? null : `http://127.0.0.1:${w.httpPort}`,
      alive: w.alive,
      exit: w.exit,
    }));
  } else {
    known = workerUrls.map((url) => ({ id: null, pid: null, url, alive: true, exit: null }));
  }
  const answers = await Promise.all(
    known.map((w) =>
      w.alive && w.url !== null ? getJson<WorkerCluster>(`${w.url}/cluster`, timeoutMs).catch(() => undefined) : undefined,
    ),
  );
  const workers = known.map((w, i): WorkerView => {
    const answer = answers[i];
    return {
      id: w.id ?? answer?.workerId ?? w.url ?? '?',
      pid: w.pid,
      url: w.url,
      up: answer !== undefined,
      owned: answer?.owned ?? [],
      exit: w.exit,
    };
  });
  const partitions = answers.find((a) => a !== undefined)?.partitions ?? [];
  return {
    workers,
    partitions: partitions.map((p) => ({ partition: p.partition, owner: p.owner, epoch: p.epoch })),
    controllable: controlUrl !== undefined,
  };
}
