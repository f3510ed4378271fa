import type { DashboardSnapshot } from '../wire.js';
import { formatBytes, formatDuration, formatMs, formatNumber, formatPercent } from './format.js';

function element(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found;
}

function setText(target: Element | null, value: string): void {
  if (target !== null && target.textContent !== value) target.textContent = value;
}

/** The page's header, progress bar and headline numbers (`[data-kpi]` cards). */
export class SummaryPanel {
  private readonly jobId = element('job-id');
  private readonly state = element('job-state');
  private readonly config = element('job-config');
  private readonly fill = element('progress-fill');
  private readonly step = element('progress-step');
  private readonly epoch = element('progress-epoch');
  private readonly eta = element('progress-eta');
  private readonly footer = element('history-note');

  update(snapshot: DashboardSnapshot): void {
    const { status, steps, epochs, allReduce } = snapshot;
    const job = status.job;
    setText(this.jobId, job.id);
    document.title = `${job.state} · ${job.id} · tfjs-ddp`;
    this.state.dataset['state'] = job.state;
    setText(this.state, job.state);
    this.state.title = job.error ?? '';
    setText(
      this.config,
      [
        `model ${job.model}`,
        `data ${job.dataset}`,
        `BN ${job.bnMode}`,
        `global batch ${job.globalBatch}`,
        `${job.epochs} epoch${job.epochs === 1 ? '' : 's'}`,
        `data source ${job.dataSource}`,
        `balance ${job.balance}`,
        job.parameters === null ? '' : `${formatNumber(job.parameters)} parameters (${formatBytes(job.parameters * 4)} gradient)`,
      ]
        .filter((s) => s !== '')
        .join(' · '),
    );
    const fraction = status.totalSteps > 0 ? Math.min(1, status.step / status.totalSteps) : 0;
    this.fill.style.width = `${(fraction * 100).toFixed(2)}%`;
    setText(this.step, `step ${status.step.toLocaleString('en-US')} of ${status.totalSteps.toLocaleString('en-US')}`);
    setText(this.epoch, `epoch ${Math.min(status.epoch + 1, job.epochs)} of ${job.epochs}`);
    setText(this.eta, job.state === 'training' ? `ETA ${formatDuration(status.etaSec)}` : job.state === 'failed' ? (job.error ?? 'failed') : '');
    const lastOf = (values: readonly (number | null)[]): number | null => values[values.length - 1] ?? null;
    const up = status.workers.filter((w) => w.state !== 'lost').length;
    this.kpi('loss', formatNumber(status.loss, 4), `${steps.count.toLocaleString('en-US')} steps recorded`);
    this.kpi('accuracy', formatPercent(status.accuracy), 'last global batch');
    const evaluated = epochs.count === 0 ? 'after the first epoch' : `after epoch ${epochs.epoch[epochs.epoch.length - 1] ?? ''}`;
    this.kpi('test-accuracy', formatPercent(status.testAccuracy), evaluated);
    this.kpi('throughput', formatNumber(lastOf(steps.throughput)), `samples/s · average ${formatNumber(status.samplesPerSec)}`);
    this.kpi('step-time', formatMs(lastOf(steps.stepMs)), 'slowest rank');
    const ranks = status.workers.reduce((n, w) => n + w.ranks.length, 0);
    this.kpi('workers', `${up} / ${status.expectedWorkers}`, `${ranks} ranks · ${job.rankRestarts} restart${job.rankRestarts === 1 ? '' : 's'}`);
    this.kpi('busbw', formatBytes(allReduce.busbw, '/s'), allReduce.algbw === null ? 'bus bandwidth' : `busbw · algbw ${formatBytes(allReduce.algbw, '/s')}`);
    setText(
      this.footer,
      `${steps.count.toLocaleString('en-US')} steps and ${epochs.count} epochs recorded; ` +
        `the coordinator sends at most ${snapshot.maxPoints.toLocaleString('en-US')} points per series (minimum and maximum of each bucket of steps).`,
    );
  }

  private kpi(name: string, value: string, sub: string): void {
    const card = document.querySelector(`[data-kpi="${name}"]`);
    setText(card?.querySelector('.value') ?? null, value);
    setText(card?.querySelector('.sub') ?? null, sub);
  }
}
