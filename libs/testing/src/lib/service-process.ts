import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';
import { repoRoot } from './local-stack';
import { waitFor } from './wait-for';

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port assigned');
  return address.port;
}

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A built service (or fixture) running as its own Node process, as `npm start` and the
 * container run it: `node dist/<entry>.js`. Output is captured for assertions.
 */
export class ServiceProcess {
  private stdoutText = '';
  private stderrText = '';
  readonly exited: Promise<ExitResult>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.stdoutText += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.stderrText += chunk.toString()));
    this.exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  }

  /** `entry` is relative to dist/, e.g. `apps/orders/src/main`. */
  static start(entry: string, env: Record<string, string>, port: number, args: string[] = []): ServiceProcess {
    return ServiceProcess.spawn(
      ['--enable-source-maps', path.join(repoRoot, 'dist', `${entry}.js`), ...args],
      { LOG_LEVEL: 'warn', ...env, PORT: String(port) },
      port,
    );
  }

  /**
   * Runs this Node with exactly `nodeArgs` (e.g. a container's command line mapped onto dist/)
   * from the repository root, with `env` and PATH only; `port` is where it serves, if it does.
   */
  static spawn(nodeArgs: string[], env: Record<string, string>, port: number): ServiceProcess {
    const child = spawn(process.execPath, nodeArgs, {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ServiceProcess(child, port);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get stdout(): string {
    return this.stdoutText;
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** Waits until `/health/ready` answers 200 (or the process exits, which fails at once). */
  async ready(timeoutMs = 30_000): Promise<void> {
    let exited = false;
    void this.exited.then(() => (exited = true));
    await waitFor(
      `${this.url}/health/ready`,
      async () => {
        if (exited) throw new Error(`process exited early:\n${this.stderrText}\n${this.stdoutText.slice(-2_000)}`);
        const response = await fetch(`${this.url}/health/ready`);
        return response.status === 200 ? true : undefined;
      },
      { timeoutMs },
    ).catch((error: unknown) => {
      if (exited) throw error;
      throw new Error(`${(error as Error).message}\nstderr:\n${this.stderrText}\nstdout tail:\n${this.stdoutText.slice(-2_000)}`);
    });
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGTERM and wait for the exit; SIGKILL if it has not gone after `timeoutMs`. */
  async stop(timeoutMs = 15_000): Promise<ExitResult> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
