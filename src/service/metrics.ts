import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DownloadWorker } from '../orchestrator/index.ts';
import type { VapiCallEvent } from '../vsphere/index.ts';

export interface MetricsSources {
  /** BullMQ's job counts by state, read at scrape time. */
  jobCounts(): Promise<Record<string, number>>;
  activeTransfers(): number;
}

/**
 * cldl's Prometheus metrics, on a registry of their own. Labels are small fixed sets (states,
 * outcomes, operation names, retry reasons): never a job id, a session id or a URL.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #bytes: Counter;
  readonly #duration: Histogram<'outcome'>;
  readonly #keepalive: Counter<'outcome'>;
  readonly #vapi: Counter<'operation' | 'outcome'>;
  readonly #retries: Counter<'reason'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'cldl_jobs',
      help: 'Download jobs by BullMQ state (the whole queue, as every worker sees it)',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = await sources.jobCounts();
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'cldl_transfers_active',
      help: 'File transfers running in this process',
      registers,
      collect() {
        this.set(sources.activeTransfers());
      },
    });
    this.#duration = new Histogram({
      name: 'cldl_job_duration_seconds',
      help: 'Duration of download job attempts, by outcome',
      labelNames: ['outcome'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14_400],
      registers,
    });
    this.#bytes = new Counter({ name: 'cldl_download_bytes_total', help: 'Bytes written to disk by downloads', registers });
    this.#keepalive = new Counter({ name: 'cldl_keepalive_total', help: 'Download session keep-alives, by outcome', labelNames: ['outcome'], registers });
    this.#vapi = new Counter({
      name: 'cldl_vapi_requests_total',
      help: 'vAPI calls to vCenter, by operation and outcome',
      labelNames: ['operation', 'outcome'],
      registers,
    });
    this.#retries = new Counter({ name: 'cldl_retries_total', help: 'Things tried again, by reason', labelNames: ['reason'], registers });
  }

  /** Counts what `worker` reports. */
  observe(worker: DownloadWorker): void {
    worker.on('finished', (e) => this.#duration.observe({ outcome: e.outcome }, e.durationMs / 1000));
    worker.on('bytes', (n) => this.#bytes.inc(n));
    worker.on('keepalive', (e) => this.#keepalive.inc({ outcome: e.outcome }));
    worker.on('retry', (e) => this.#retries.inc({ reason: e.reason }));
  }

  /** For VCenterClient's `onCall`. */
  readonly onVapiCall = (e: VapiCallEvent): void => {
    this.#vapi.inc({ operation: e.operation, outcome: e.outcome });
  };
}
