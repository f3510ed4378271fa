import type { RouteHandler } from '../http-server.js';
import type { MetricsRecord } from '../metrics-log.js';
import type { JobStatus } from '../status.js';

/**
 * What the dashboard and /metrics need from a coordinator: its status, a route on its
 * HTTP port, and every metrics record as it is written. `Coordinator` is one; a test can
 * stand in for it with a plain HTTP server and records of its own.
 */
export interface TelemetrySource {
  status(): JobStatus;
  addRoute(path: string, handler: RouteHandler): void;
  onRecord(listener: (record: MetricsRecord) => void): () => void;
}
