import type { DashboardSnapshot } from '../wire.js';
import { formatMs, formatNumber, formatPercent } from './format.js';
import { LiveChart, type SeriesStyle } from './live-chart.js';
import { SummaryPanel } from './summary-panel.js';
import { WorkersTable } from './workers-table.js';

/** Distinct on a dark background (Tableau 10, brightened); ranks beyond ten reuse them dashed. */
const PALETTE = ['#4e9bf5', '#f28e2b', '#59c26b', '#e15759', '#b07aa1', '#76b7b2', '#edc948', '#ff9da7', '#9c755f', '#bab0ac'];

/** Up to this many epochs each gets a dot; beyond, dots would merge into a thick line. */
const MARKED_EPOCHS = 60;

function figure(name: string): HTMLElement {
  const found = document.querySelector<HTMLElement>(`figure[data-chart="${name}"]`);
  if (found === null) throw new Error(`the page has no chart ${name}`);
  return found;
}

const percentTick = (v: number): string => `${Math.round(v * 100)}%`;
const charts = {
  loss: new LiveChart(figure('loss'), { xLabel: 'step', yValue: (v) => formatNumber(v, 4) }),
  accuracy: new LiveChart(figure('accuracy'), { xLabel: 'step', yRange: [0, 1], yTick: percentTick, yValue: formatPercent }),
  testAccuracy: new LiveChart(figure('test-accuracy'), { xLabel: 'epoch', yRange: [0, 1], yTick: percentTick, yValue: formatPercent }),
  throughput: new LiveChart(figure('throughput'), { xLabel: 'step', yValue: (v) => formatNumber(v) }),
  ranks: new LiveChart(figure('rank-step'), { xLabel: 'step', yValue: formatMs }),
  breakdown: new LiveChart(figure('breakdown'), { xLabel: 'step', yValue: formatMs }),
};
const summary = new SummaryPanel();
const workers = new WorkersTable(document.getElementById('workers-body') as HTMLTableSectionElement, document.getElementById('workers-summary') as HTMLElement);
const connection = document.getElementById('connection') as HTMLElement;
let updates = 0;
/** The job's end as last seen: after it, a lost connection means the coordinator closed, not a hiccup. */
let ended = false;

function render(snapshot: DashboardSnapshot): void {
  const { steps, epochs } = snapshot;
  summary.update(snapshot);
  workers.update(snapshot.status);
  charts.loss.update(steps.step, [{ label: 'loss', color: PALETTE[0] as string, fill: 'rgba(78, 155, 245, 0.08)' }], [steps.loss]);
  charts.accuracy.update(steps.step, [{ label: 'accuracy', color: PALETTE[2] as string, fill: 'rgba(89, 194, 107, 0.08)' }], [steps.accuracy]);
  const testStyle = { label: 'test accuracy', color: PALETTE[6] as string, width: 2, points: epochs.epoch.length <= MARKED_EPOCHS };
  charts.testAccuracy.update(epochs.epoch, [testStyle], [epochs.testAccuracy]);
  charts.throughput.update(
    steps.step,
    [
      { label: 'this step', color: PALETTE[5] as string, width: 1 },
      { label: 'run average', color: PALETTE[1] as string, width: 2 },
    ],
    [steps.throughput, steps.averageThroughput],
  );
  // Past the palette's colours, lines repeat them dashed.
  const rankStyles: SeriesStyle[] = steps.ranks.map((r, i) => ({
    label: r.label,
    color: PALETTE[i % PALETTE.length] as string,
    width: 1.25,
    ...(i >= PALETTE.length ? { dash: [4, 3] } : {}),
  }));
  charts.ranks.update(steps.step, rankStyles, steps.ranks.map((r) => r.ms));
  charts.breakdown.update(
    steps.step,
    [
      { label: 'compute', color: PALETTE[0] as string },
      { label: 'all-reduce', color: PALETTE[3] as string },
      { label: 'SyncBN wait', color: PALETTE[4] as string },
      { label: 'shard wait', color: PALETTE[6] as string },
    ],
    [steps.computeMs, steps.allReduceMs, steps.syncBnMs, steps.waitMs],
  );
  const { status } = snapshot;
  ended = status.job.state === 'finished' || status.job.state === 'failed' || (status.totalSteps > 0 && status.step >= status.totalSteps);
  document.body.dataset['updates'] = String(++updates);
}

function setConnection(state: 'connecting' | 'live' | 'reconnecting' | 'ended', text: string): void {
  connection.dataset['connection'] = state;
  const label = connection.querySelector('.text');
  if (label !== null) label.textContent = text;
}

const events = new EventSource('dashboard/events');
events.addEventListener('open', () => setConnection('live', 'live'));
events.addEventListener('snapshot', (event) => {
  render(JSON.parse((event as MessageEvent<string>).data) as DashboardSnapshot);
  setConnection('live', 'live');
});
events.addEventListener('error', () => {
  // The coordinator closes its port when the job ends; EventSource keeps retrying meanwhile.
  if (ended) {
    // Nothing will answer again: stop the retries rather than fill the console.
    events.close();
    setConnection('ended', 'job ended · coordinator closed');
  } else setConnection('reconnecting', 'reconnecting…');
});
