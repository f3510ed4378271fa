/** A worker process as the coordinator knows it when it assigns ranks. */
export interface WorkerSlot {
  /** The coordinator's id of the worker's connection. */
  id: string;
  /** The host the worker advertises to its ring peers. */
  host: string;
  /** The port it listens on for ring peer links. */
  peerPort: number;
  /** Rank threads (replicas) the worker hosts. */
  threads: number;
  /** Its index among the rank processes its launcher started on its host (`--procs`), if it is one. */
  launchIndex?: number;
}

export interface AssignedWorker extends WorkerSlot {
  /** Position in the process ring. */
  processRank: number;
  /** Global rank of the worker's first thread; its threads are rankOffset .. rankOffset + threads - 1. */
  rankOffset: number;
}

/**
 * Orders workers into the process ring, workers of one host next to each other (so two
 * of their ring hops stay on the host), and gives each its global ranks: the ranks of
 * all earlier workers, plus its own thread index. Within a host, rank processes of one
 * launcher go in launch order (process i, pinned to device i, gets the host's i-th ranks),
 * after them workers started by hand. Deterministic: ties keep the order of arrival.
 */
export function assignRanks(workers: readonly WorkerSlot[]): AssignedWorker[] {
  const firstSeen = new Map<string, number>();
  workers.forEach((w, i) => {
    if (!firstSeen.has(w.host)) firstSeen.set(w.host, i);
  });
  const ordered = workers
    .map((w, arrival) => ({ w, arrival }))
    .sort((a, b) => (firstSeen.get(a.w.host) as number) - (firstSeen.get(b.w.host) as number) || launchOrder(a.w) - launchOrder(b.w) || a.arrival - b.arrival)
    .map(({ w }) => w);
  let offset = 0;
  return ordered.map((w, processRank) => {
    const assigned = { ...w, processRank, rankOffset: offset };
    offset += w.threads;
    return assigned;
  });
}

export function worldSize(workers: readonly WorkerSlot[]): number {
  return workers.reduce((n, w) => n + w.threads, 0);
}

function launchOrder(w: WorkerSlot): number {
  return w.launchIndex ?? Number.MAX_SAFE_INTEGER;
}
