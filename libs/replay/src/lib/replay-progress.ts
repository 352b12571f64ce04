import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import type { ReplayJobs, ReplayJobView } from './replay-jobs';

export interface ProgressStreamOptions {
  /** How often the job row is read (it holds the progress whichever replica runs the job). */
  pollMs: number;
  /** A comment line after this much silence keeps proxies from closing an idle stream. */
  heartbeatMs: number;
}

/** The response headers of a progress stream. */
export const EVENT_STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  // nginx (and ingress-nginx) would otherwise buffer the stream.
  'x-accel-buffering': 'no',
} as const;

/**
 * Server-sent progress of replay jobs: a `progress` event (read, replayed, status) whenever
 * the stored progress moves, then one `done`, `failed` or `cancelled` event carrying the job,
 * and the stream ends. Polls the job row, so it works whichever replica runs the job.
 */
export class ReplayProgressStreams {
  private readonly logger = new Logger(ReplayProgressStreams.name);
  private readonly open = new Set<AbortController>();

  constructor(
    private readonly jobs: ReplayJobs,
    private readonly options: ProgressStreamOptions,
  ) {}

  /** Writes events for `job` to `out` (whose headers are sent) until it finishes, the client leaves, or `close()`. */
  async stream(job: ReplayJobView, out: ServerResponse): Promise<void> {
    const controller = new AbortController();
    const stop = () => {
      controller.abort();
    };
    this.open.add(controller);
    out.once('close', stop);
    out.on('error', stop);
    let wroteAt = Date.now();
    const write = (text: string) => {
      out.write(text);
      wroteAt = Date.now();
    };
    const send = (event: string, data: unknown) => {
      write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    try {
      let current = job;
      let shown: string | undefined;
      for (;;) {
        if (current.status !== 'running') {
          send(current.status, current);
          return;
        }
        const progress = {
          id: current.id,
          status: current.status,
          read: current.read,
          replayed: current.replayed,
          planned: current.plan.records,
        };
        const key = `${progress.read}/${progress.replayed}`;
        if (key !== shown) {
          send('progress', progress);
          shown = key;
        } else if (Date.now() - wroteAt >= this.options.heartbeatMs) {
          write(': keep-alive\n\n');
        }
        await sleep(this.options.pollMs, undefined, { signal: controller.signal }).catch(() => undefined);
        if (controller.signal.aborted) return;
        current = await this.jobs.get(current.id);
      }
    } catch (error) {
      // Headers are sent: the stream can only end. A client reconnecting gets the state again.
      this.logger.warn(`progress stream of replay ${job.id} ended: ${(error as Error).message}`);
    } finally {
      this.open.delete(controller);
      out.off('close', stop);
      out.end();
    }
  }

  /** Ends every open stream (at shutdown, so the listener can close). */
  close(): void {
    for (const controller of this.open) controller.abort();
  }
}
