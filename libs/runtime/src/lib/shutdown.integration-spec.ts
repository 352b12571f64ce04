import { freePort, ServiceProcess, waitFor } from '@keelson/testing';

const FIXTURE = 'libs/runtime/src/fixtures/slow-service';

async function get(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

const startedCount = (sut: ServiceProcess) => sut.stdout.split('\n').filter((l) => l.includes('slow request started')).length;

describe('graceful shutdown', () => {
  let sut: ServiceProcess | undefined;

  afterEach(async () => {
    await sut?.stop();
    sut = undefined;
  });

  it('lets in-flight requests complete after SIGTERM, refuses new work, and exits 0', async () => {
    sut = ServiceProcess.start(FIXTURE, { SHUTDOWN_GRACE_MS: '10000' }, await freePort());
    await sut.ready();
    const running = sut;

    const inFlight = Array.from({ length: 5 }, () => get(`${running.url}/slow?ms=1500`));
    await waitFor('5 requests in flight', () => Promise.resolve(startedCount(running) === 5 ? true : undefined), { timeoutMs: 5_000 });
    running.signal('SIGTERM');

    const results = await Promise.all(inFlight);
    expect(results).toEqual(Array.from({ length: 5 }, () => ({ status: 200, body: { sleptMs: 1500 } })));
    expect(await running.exited).toEqual({ code: 0, signal: null });
    await expect(fetch(`${running.url}/health/live`)).rejects.toThrow();
  });

  it('answers readiness 503 but keeps serving during the drain delay', async () => {
    sut = ServiceProcess.start(FIXTURE, { SHUTDOWN_GRACE_MS: '10000', SHUTDOWN_DRAIN_DELAY_MS: '1500' }, await freePort());
    await sut.ready();
    const running = sut;
    running.signal('SIGTERM');
    const ready = await waitFor(
      'readiness to fail',
      async () => {
        const response = await fetch(`${running.url}/health/ready`);
        return response.status === 200 ? undefined : response.status;
      },
      { timeoutMs: 1_000, intervalMs: 20 },
    );
    expect(ready).toBe(503);
    expect(await get(`${running.url}/slow?ms=10`)).toEqual({ status: 200, body: { sleptMs: 10 } });
    expect(await running.exited).toEqual({ code: 0, signal: null });
  });

  it('exits non-zero when in-flight work outlasts the grace period', async () => {
    sut = ServiceProcess.start(FIXTURE, { SHUTDOWN_GRACE_MS: '300' }, await freePort());
    await sut.ready();
    const running = sut;
    const slow = get(`${running.url}/slow?ms=5000`).catch((error: unknown) => error);
    await waitFor('request in flight', () => Promise.resolve(startedCount(running) === 1 ? true : undefined), { timeoutMs: 5_000 });
    const signalledAt = Date.now();
    running.signal('SIGTERM');
    expect(await running.exited).toEqual({ code: 1, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(4_000);
    expect(running.stdout).toContain('did not finish within 300 ms');
    expect(await slow).toMatchObject({ message: 'fetch failed' }); // the connection was cut, not answered
  });
});
