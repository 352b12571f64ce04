// tools/stack/stack.sh as a user meets it: clear one-line errors, honest status codes.
// Uses a separate data folder and ports, so the running stack is left alone.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, repoRoot } from '@keelson/testing';

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function stackSh(args: string[], env: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      [path.join(repoRoot, 'tools/stack/stack.sh'), ...args],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('tools/stack/stack.sh', () => {
  let dataDir: string;
  let occupier: Server;
  let busyPort: number;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'keelson-stack-it-'));
    busyPort = await freePort();
    occupier = createServer().listen(busyPort, '127.0.0.1');
    await once(occupier, 'listening');
  });

  afterAll(() => {
    occupier.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses a port held by another process in one line naming the port, the holder and the variable', async () => {
    const outcome = await stackSh(['up', 'redis'], { KEELSON_STACK_DIR: dataDir, KEELSON_REDIS_PORT: String(busyPort) });
    expect(outcome.code).toBe(1);
    const lines = outcome.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(`^stack: port ${busyPort} is in use by another process \\(pid ${process.pid} .*\\); stop it or set KEELSON_REDIS_PORT$`),
    );
  });

  it('refuses a Prometheus port held by another process, naming KEELSON_PROMETHEUS_PORT', async () => {
    const outcome = await stackSh(['up', 'prometheus'], { KEELSON_STACK_DIR: dataDir, KEELSON_PROMETHEUS_PORT: String(busyPort) });
    expect(outcome.code).toBe(1);
    expect(outcome.stderr.trim()).toMatch(
      new RegExp(
        `^stack: port ${busyPort} is in use by another process \\(pid ${process.pid} .*\\); stop it or set KEELSON_PROMETHEUS_PORT$`,
      ),
    );
  });

  it('reports components that are not running with exit code 3', async () => {
    const outcome = await stackSh(['status'], { KEELSON_STACK_DIR: dataDir, KEELSON_PG_PORT: String(busyPort) });
    expect(outcome.code).toBe(3);
    expect(outcome.stdout).toContain('postgres  down');
    expect(outcome.stdout).toContain('kafka     down');
    expect(outcome.stdout).toContain('prometheus down');
  });

  it('rejects an unknown component by name', async () => {
    const outcome = await stackSh(['up', 'mysql'], { KEELSON_STACK_DIR: dataDir });
    expect(outcome.code).toBe(1);
    expect(outcome.stderr.trim()).toBe("stack: unknown component 'mysql' (expected postgres, redis, kafka or prometheus)");
  });

  it('is a no-op for a component that is already up', async () => {
    const outcome = await stackSh(['up', 'redis'], {});
    expect(outcome.code).toBe(0);
    expect(outcome.stdout.trim()).toBe('stack: redis already up on 127.0.0.1:6379');
  });
});
