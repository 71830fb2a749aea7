import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * Cancellation notices over Redis pub/sub. BullMQ's own `worker.cancelJob` reaches only jobs of the
 * process that calls it; a notice here reaches every worker. Notices can be missed (a subscriber
 * reconnecting), so the persistent flag in the download's hash stays the truth: workers check it
 * when they take a job and at every progress report.
 */
export class CancelChannel {
  readonly #subscriber: Redis | Cluster;
  readonly #channel: string;

  private constructor(subscriber: Redis | Cluster, channel: string) {
    this.#subscriber = subscriber;
    this.#channel = channel;
  }

  /** Subscribes a dedicated connection (pub/sub takes it over) and calls `onCancel` with each id. */
  static async listen(redis: Redis | Cluster, channel: string, onCancel: (id: string) => void, logger: Logger): Promise<CancelChannel> {
    const subscriber = redis.duplicate();
    subscriber.on('error', (err: Error) => logger.warn({ err }, 'cancel channel connection error'));
    subscriber.on('message', (ch: string, id: string) => {
      if (ch === channel) onCancel(id);
    });
    await subscriber.subscribe(channel);
    return new CancelChannel(subscriber, channel);
  }

  static publish(redis: Redis | Cluster, channel: string, id: string): Promise<number> {
    return redis.publish(channel, id);
  }

  async close(): Promise<void> {
    await this.#subscriber.unsubscribe(this.#channel).catch(() => undefined);
    this.#subscriber.disconnect();
  }
}
