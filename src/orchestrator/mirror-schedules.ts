import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { jobOptions, type JobPolicy } from './job-options.ts';
import { parseMirrorRequest, type MirrorRequest } from './mirror-request.ts';

/** A mirror run to repeat: `every` milliseconds, or on a cron `pattern`. */
export interface MirrorSchedule {
  name: string;
  request: MirrorRequest;
  every?: number | undefined;
  cron?: string | undefined;
}

const PREFIX = 'mirror:';

/**
 * Makes the queue's mirror job schedulers match the configuration: one BullMQ job scheduler per
 * schedule (so however many workers run, each period makes one run), updated when its settings
 * change, removed when it leaves the configuration. Every worker does this at start; the result
 * is the same whichever does it last, as long as they share one configuration.
 */
export async function syncMirrorSchedules(queue: Queue, schedules: readonly MirrorSchedule[], options: JobPolicy & { vcenters: readonly string[] }, logger: Logger): Promise<void> {
  const wanted = new Set<string>();
  for (const s of schedules) {
    const id = `${PREFIX}${s.name}`;
    wanted.add(id);
    const request = parseMirrorRequest(s.request, { vcenters: options.vcenters });
    await queue.upsertJobScheduler(id, s.cron !== undefined ? { pattern: s.cron } : { every: s.every ?? 86_400_000 }, {
      name: 'mirror',
      data: { request, step: 'plan' },
      opts: jobOptions(options),
    });
  }
  for (const existing of await queue.getJobSchedulers(0, -1)) {
    const id = existing.key;
    if (id.startsWith(PREFIX) && !wanted.has(id)) {
      await queue.removeJobScheduler(id);
      logger.info({ schedule: id.slice(PREFIX.length) }, 'mirror schedule removed: it is no longer configured');
    }
  }
  if (schedules.length) logger.info({ schedules: schedules.map((s) => s.name) }, 'mirror schedules in place');
}
