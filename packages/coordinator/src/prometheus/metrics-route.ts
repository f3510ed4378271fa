import type { StructuredLog } from '@tfjs-ddp/protocol';
import type { TelemetrySource } from '../dashboard/telemetry-source.js';
import { JobMetrics, type JobMetricsOptions } from './job-metrics.js';

/** Serves the job's metrics at `/metrics` on the coordinator's port, fed by its metrics records. */
export function attachMetrics(source: TelemetrySource, options: JobMetricsOptions & { log?: StructuredLog } = {}): JobMetrics {
  const metrics = new JobMetrics(() => source.status(), options);
  source.onRecord((record) => metrics.observe(record));
  source.addRoute('/metrics', (_request, response) => {
    metrics.metrics().then(
      (body) => response.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }).end(body),
      (error: unknown) => {
        options.log?.error({ error: (error as Error).message }, 'collecting /metrics failed');
        response.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting metrics failed: ${(error as Error).message}\n`);
      },
    );
  });
  return metrics;
}
