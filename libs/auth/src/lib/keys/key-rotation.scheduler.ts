import { Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { KeyRing } from './key-ring';

/** Runs a rotation step at boot and then every `checkIntervalMs`; every replica runs it, one acts. */
export class KeyRotationScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(KeyRotationScheduler.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly keys: KeyRing,
    private readonly checkIntervalMs: number,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.checkIntervalMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private tick(): Promise<void> {
    this.running = this.keys
      .rotate()
      .then((result) => {
        if (result !== 'locked' && result.created) {
          this.logger.log(
            `signing key ${result.created} scheduled${result.retiring ? `; ${result.retiring} retires when it activates` : ''}`,
          );
        }
      })
      .catch((error: unknown) => {
        this.logger.error(`key rotation failed (will retry): ${(error as Error).message}`);
      });
    return this.running;
  }
}
