import type { JobStatus } from '../../status.js';
import { formatBytes, formatMs, formatPercent } from './format.js';

type WorkerRow = JobStatus['workers'][number];

/** A worker is a straggler when its last step took this much longer than the median worker's. */
const STRAGGLER_FACTOR = 1.25;

/**
 * The workers' table: one row per worker (`tr[data-worker]`), its ranks, backend and
 * state, and its last step time as a bar scaled to the slowest worker, so a straggler
 * stands out. Rows are reused by worker id; all text goes in through textContent.
 */
export class WorkersTable {
  private readonly rows = new Map<string, HTMLTableRowElement>();

  constructor(
    private readonly body: HTMLTableSectionElement,
    private readonly summary: HTMLElement,
  ) {}

  update(status: JobStatus): void {
    const workers = [...status.workers].sort((a, b) => (a.processRank ?? 1e9) - (b.processRank ?? 1e9) || a.id.localeCompare(b.id));
    const times = workers.map((w) => w.lastStepMs).filter((t): t is number => t !== null && Number.isFinite(t));
    const slowest = Math.max(1, ...times);
    const median = medianOf(times);
    const seen = new Set<string>();
    for (const worker of workers) {
      seen.add(worker.id);
      const row = this.row(worker.id);
      this.body.appendChild(row); // keeps the sorted order
      const straggler = times.length > 1 && worker.lastStepMs !== null && worker.lastStepMs > median * STRAGGLER_FACTOR;
      fill(row, worker, slowest, straggler);
    }
    for (const [id, row] of this.rows) {
      if (seen.has(id)) continue;
      row.remove();
      this.rows.delete(id);
    }
    const up = status.workers.filter((w) => w.state !== 'lost').length;
    this.summary.textContent = `${up} of ${status.expectedWorkers} up`;
  }

  private row(id: string): HTMLTableRowElement {
    let row = this.rows.get(id);
    if (row === undefined) {
      row = document.createElement('tr');
      row.dataset['worker'] = id;
      for (let i = 0; i < 11; i++) row.appendChild(document.createElement('td'));
      this.rows.set(id, row);
    }
    return row;
  }
}

function fill(row: HTMLTableRowElement, worker: WorkerRow, slowest: number, straggler: boolean): void {
  const cells = row.cells;
  const text = (i: number, value: string): void => {
    const cell = cells[i];
    if (cell !== undefined && cell.textContent !== value) cell.textContent = value;
  };
  text(0, worker.id);
  text(1, worker.host);
  text(2, worker.processRank === null ? '–' : String(worker.processRank));
  text(3, rankRange(worker.ranks));
  text(4, worker.backend ?? '–');
  const state = cells[5];
  if (state !== undefined) {
    state.replaceChildren(pill(worker.state, `state ${worker.state}`));
    if (straggler) state.appendChild(pill('straggler', 'state straggler'));
  }
  text(6, formatMs(worker.lastStepMs));
  const barCell = cells[7];
  if (barCell !== undefined) {
    let bar = barCell.firstElementChild as HTMLElement | null;
    if (bar === null) {
      barCell.className = 'bar-cell';
      bar = document.createElement('div');
      bar.className = 'bar';
      barCell.appendChild(bar);
    }
    bar.style.width = `${worker.lastStepMs === null ? 0 : Math.max(2, (100 * worker.lastStepMs) / slowest)}%`;
    bar.classList.toggle('slow', straggler);
  }
  const net = worker.network;
  text(8, formatBytes(net?.sentBytesPerStep));
  text(9, formatBitRate(net?.linkBitsPerSec));
  text(10, formatPercent(net?.networkFraction));
  // Over half the step on the network: the link, not the compute, sets the pace.
  cells[10]?.classList.toggle('network-bound', (net?.networkFraction ?? 0) > 0.5);
  row.classList.toggle('straggler', straggler);
  row.classList.toggle('lost', worker.state === 'lost');
}

function formatBitRate(bitsPerSec: number | null | undefined): string {
  if (bitsPerSec === null || bitsPerSec === undefined || !Number.isFinite(bitsPerSec)) return '–';
  if (bitsPerSec >= 1e9) return `${(bitsPerSec / 1e9).toFixed(2)} Gbit/s`;
  return bitsPerSec >= 1e6 ? `${(bitsPerSec / 1e6).toFixed(1)} Mbit/s` : `${(bitsPerSec / 1e3).toFixed(1)} kbit/s`;
}

function pill(text: string, className: string): HTMLElement {
  const span = document.createElement('span');
  span.className = className;
  span.textContent = text;
  return span;
}

function rankRange(ranks: readonly number[]): string {
  if (ranks.length === 0) return '–';
  const first = ranks[0] as number;
  const last = ranks[ranks.length - 1] as number;
  return ranks.length === 1 ? String(first) : `${first}–${last}`;
}

function medianOf(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
