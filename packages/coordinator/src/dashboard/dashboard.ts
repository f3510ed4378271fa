import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StructuredLog } from '@tfjs-ddp/protocol';
import type { MetricsRecord } from '../metrics-log.js';
import { allReduceRates, allReduceSeconds, gradientBytes, type AllReduceRates } from '../prometheus/bus-bandwidth.js';
import { EventStream, formatEvent } from './event-stream.js';
import { dashboardAssets, serveAsset } from './static-assets.js';
import { StepHistory } from './step-history.js';
import type { TelemetrySource } from './telemetry-source.js';
import type { DashboardSnapshot } from './wire.js';

export interface DashboardOptions {
  /** Points per series the page receives at most, however long the run. Default 1000. */
  maxPoints?: number;
  /** Pages are updated at most this often. Default 1000 ms. */
  intervalMs?: number;
  /** Pages open at once at most. Default 32. */
  maxClients?: number;
  log?: StructuredLog;
}

export interface Dashboard {
  /** The snapshot a page would receive now (GET /dashboard/snapshot serves it too). */
  snapshot(maxPoints?: number): DashboardSnapshot;
  /** Stops the updates and ends the open event streams. */
  close(): void;
}

/** Bounds of the `points` query parameter of /dashboard/snapshot. */
const MIN_POINTS = 16;
const MAX_POINTS = 10_000;

/**
 * A live dashboard on the coordinator's HTTP port: `/` is the page (charts drawn with
 * uPlot, served from node_modules), `/dashboard/events` streams a snapshot of the job to
 * it (server-sent events) whenever something changed, at most every `intervalMs`, and
 * `/dashboard/snapshot` returns one as JSON. The history is downsampled here, so the page
 * stays fast for a 100 000-step run.
 */
export function attachDashboard(source: TelemetrySource, options: DashboardOptions = {}): Dashboard {
  const maxPoints = options.maxPoints ?? 1000;
  const intervalMs = options.intervalMs ?? 1000;
  const history = new StepHistory();
  const stream = new EventStream({ maxClients: options.maxClients });
  let lastAllReduce: AllReduceRates | undefined;
  let lastBytes: number | null = null;
  let sent = { version: -1, status: '' };

  const snapshot = (points = maxPoints): DashboardSnapshot => {
    const status = source.status();
    return {
      status,
      ...history.view(points),
      allReduce: { bytes: lastBytes, algbw: lastAllReduce?.algbw ?? null, busbw: lastAllReduce?.busbw ?? null },
      maxPoints: points,
    };
  };
  /** Sends the current snapshot to every open page, unless nothing changed since the last one. */
  const push = (): void => {
    if (stream.size === 0) return;
    const current = snapshot();
    const status = JSON.stringify(current.status);
    if (history.version === sent.version && status === sent.status) return;
    sent = { version: history.version, status };
    stream.send('snapshot', JSON.stringify(current));
  };

  const unsubscribe = source.onRecord((record: MetricsRecord) => {
    history.add(record);
    if (record.kind === 'step') {
      const parameters = source.status().job.parameters;
      lastBytes = parameters === null ? null : gradientBytes(parameters);
      lastAllReduce = lastBytes === null ? undefined : allReduceRates(lastBytes, allReduceSeconds(record.ranks), record.ranks.length);
    }
    // An epoch's result, and the last step, go out at once: the coordinator closes its port soon after the last one.
    const last = record.kind === 'step' && record.step >= source.status().totalSteps;
    if (record.kind === 'epoch' || last) setImmediate(push);
  });
  const ticker = setInterval(push, intervalMs);
  ticker.unref();

  const assets = dashboardAssets();
  for (const [path, item] of assets) source.addRoute(path, (request, response) => serveAsset(request, response, item));
  source.addRoute('/dashboard/snapshot', (request: IncomingMessage, response: ServerResponse) => {
    const asked = Number(new URL(request.url ?? '/', 'http://dashboard').searchParams.get('points') ?? maxPoints);
    const points = Number.isFinite(asked) ? Math.min(MAX_POINTS, Math.max(MIN_POINTS, Math.floor(asked))) : maxPoints;
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(snapshot(points)));
  });
  source.addRoute('/dashboard/events', (request: IncomingMessage, response: ServerResponse) => {
    const opened = stream.open(request, response, formatEvent('snapshot', JSON.stringify(snapshot())));
    if (opened) options.log?.info({ clients: stream.size, remote: request.socket.remoteAddress }, 'dashboard opened');
    else options.log?.warn({ clients: stream.size }, 'dashboard refused: too many open');
  });

  return {
    snapshot,
    close: () => {
      clearInterval(ticker);
      unsubscribe();
      stream.close();
    },
  };
}
