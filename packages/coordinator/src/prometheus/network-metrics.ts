import { Counter, Gauge, type Registry } from 'prom-client';
import type { WorkerNetworkStatus } from '../network-stats.js';
import type { JobStatus } from '../status.js';

type Figure = 'sentBytesPerStep' | 'payloadBytesPerStep' | 'netMsPerStep' | 'linkBitsPerSec' | 'networkFraction';

/** Per-worker gauges of the peer links, read from the status at every scrape (as /status and the dashboard show them). */
const GAUGES: readonly { metric: string; help: string; figure: Figure; scale: number }[] = [
  {
    metric: 'worker_network_sent_bytes_per_step',
    help: 'Bytes each worker sent to its peers per step over its last steps (frames included)',
    figure: 'sentBytesPerStep',
    scale: 1,
  },
  {
    metric: 'worker_network_payload_bytes_per_step',
    help: "Tensor payload each worker sent per step over its last steps: what its all-reduce algorithm had to send",
    figure: 'payloadBytesPerStep',
    scale: 1,
  },
  {
    metric: 'worker_network_seconds_per_step',
    help: "Time each worker's collectives were on its peer links per step over its last steps",
    figure: 'netMsPerStep',
    scale: 1e-3,
  },
  {
    metric: 'worker_link_throughput_bits_per_second',
    help: 'Bits each worker sent per second of network time over its last steps: the rate its links achieved',
    figure: 'linkBitsPerSec',
    scale: 1,
  },
  {
    metric: 'worker_network_fraction',
    help: "Share of each worker's step spent on its peer links over its last steps (0..1)",
    figure: 'networkFraction',
    scale: 1,
  },
];

/** The workers' peer-link gauges and byte counters. */
export function workerNetworkMetrics(name: (n: string) => string, registers: Registry[], status: () => JobStatus): void {
  const withNetwork = (): [string, WorkerNetworkStatus][] =>
    status().workers.flatMap((w) => (w.network === null ? [] : [[w.id, w.network] as [string, WorkerNetworkStatus]]));
  for (const { metric, help, figure, scale } of GAUGES) {
    new Gauge({
      name: name(metric),
      help,
      labelNames: ['worker'],
      registers,
      collect() {
        this.reset();
        for (const [worker, n] of withNetwork()) {
          const value = n[figure];
          if (value !== null) this.set({ worker }, value * scale);
        }
      },
    });
  }
  for (const [metric, help, total] of [
    ['worker_network_sent_bytes_total', 'Bytes each worker sent to its peers since it joined', 'sentBytesTotal'],
    ['worker_network_received_bytes_total', 'Bytes each worker received from its peers since it joined', 'receivedBytesTotal'],
  ] as const) {
    new Counter({
      name: name(metric),
      help,
      labelNames: ['worker'],
      registers,
      collect() {
        // The status holds the running totals: the counter shows them as they are.
        this.reset();
        for (const [worker, n] of withNetwork()) this.inc({ worker }, n[total]);
      },
    });
  }
}
