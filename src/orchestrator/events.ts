/** What the orchestrator tells the outside (metrics, logs) without knowing who listens. */
export interface OrchestratorEvents {
  /** A job attempt ended. */
  finished: [{ outcome: 'completed' | 'failed' | 'canceled' | 'retrying' | 'requeued'; durationMs: number }];
  /** Bytes that reached disk since the last report. */
  bytes: [number];
  /** Something was tried again: a file transfer, a session, a job. */
  retry: [{ reason: string }];
  keepalive: [{ outcome: 'ok' | 'failed' | 'lost' }];
}
