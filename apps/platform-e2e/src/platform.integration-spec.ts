import { freePort, SERVICES, ServiceProcess, stack, waitFor, type ServiceName, type StackComponent } from '@keelson/testing';

// Each service runs as its own process from dist/, on a free port, against the real local
// stack, exactly as `npm start` runs it.
const entry = (name: ServiceName) => `apps/${name}/src/main`;

interface Readiness {
  status: number;
  body: { status: string; details: Record<string, { status: string; message?: string }> };
}

async function readiness(service: ServiceProcess): Promise<Readiness> {
  const response = await fetch(`${service.url}/health/ready`);
  return { status: response.status, body: (await response.json()) as Readiness['body'] };
}

describe('the platform on the local stack', () => {
  const running = new Map<ServiceName, ServiceProcess>();

  beforeAll(async () => {
    for (const { name } of SERVICES) {
      const migrate = ServiceProcess.start(entry(name), {}, await freePort(), ['migrate']);
      const result = await migrate.exited;
      if (result.code !== 0) throw new Error(`${name} migrate failed: ${migrate.stderr}`);
      running.set(name, ServiceProcess.start(entry(name), {}, await freePort()));
    }
    await Promise.all([...running.values()].map((s) => s.ready(60_000)));
  });

  afterAll(async () => {
    await stack('up'); // whatever a failed test left stopped
    await Promise.all([...running.values()].map((s) => s.stop()));
  });

  const service = (name: ServiceName): ServiceProcess => {
    const found = running.get(name);
    if (!found) throw new Error(`${name} is not running`);
    return found;
  };

  it.each(SERVICES.map((s) => [s.name, s.dependencies] as const))('%s is ready and checks exactly %j', async (name, dependencies) => {
    const { status, body } = await readiness(service(name));
    expect(status).toBe(200);
    expect(Object.keys(body.details).sort()).toEqual(['process', ...dependencies].sort());
    expect((await fetch(`${service(name).url}/health/live`)).status).toBe(200);
  });

  it.each(SERVICES.map((s) => [s.name] as const))('%s serves Prometheus metrics and its OpenAPI document', async (name) => {
    await fetch(`${service(name).url}/health/live`);
    const metrics = await (await fetch(`${service(name).url}/metrics`)).text();
    expect(metrics).toContain('process_cpu_seconds_total');
    expect(metrics).toMatch(
      new RegExp(
        `http_server_request_duration_seconds_count\\{service="${name}",method="GET",route="/health/live",status_code="200"\\} [1-9]`,
      ),
    );
    const openapi = (await (await fetch(`${service(name).url}/openapi.json`)).json()) as { openapi: string; info: { title: string } };
    expect(openapi.openapi).toMatch(/^3\./);
    // Each service describes itself; the gateway serves the whole public API merged from them.
    expect(openapi.info.title).toBe(name === 'gateway' ? 'Keelson API' : `Keelson ${name}`);
  });

  it('answers unknown routes with RFC 9457 problem+json carrying the request id', async () => {
    const response = await fetch(`${service('orders').url}/api/v1/nothing-here`, { headers: { 'x-request-id': 'e2e-req-1' } });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.headers.get('x-request-id')).toBe('e2e-req-1');
    expect(await response.json()).toMatchObject({ status: 404, title: 'Not Found', instance: '/api/v1/nothing-here' });
  });

  // Readiness follows each dependency down and back up; services that don't use it stay ready.
  it.each<[StackComponent, ServiceName, ServiceName]>([
    ['redis', 'gateway', 'replay'],
    ['postgres', 'benchmark', 'gateway'],
    ['kafka', 'replay', 'benchmark'],
  ])('ready turns 503 when %s stops and 200 when it is back (%s; %s unaffected)', async (component, user, bystander) => {
    await stack('down', component);
    try {
      const down = await waitFor(`${user} to report ${component} down`, async () => {
        const r = await readiness(service(user));
        return r.status === 503 ? r : undefined;
      });
      expect(down.body.details[component]?.status).toBe('down');
      expect((await readiness(service(bystander))).status).toBe(200);
    } finally {
      await stack('up', component);
    }
    const back = await waitFor(
      `${user} to report ${component} up`,
      async () => {
        const r = await readiness(service(user));
        return r.status === 200 ? r : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(back.body.details[component]?.status).toBe('up');
  });

  it.each<[ServiceName, string, string]>([
    ['orders', 'DATABASE_PORT', 'not-a-port'],
    ['gateway', 'REDIS_PORT', '70000'],
    ['replay', 'KAFKA_BROKERS', 'no-port-here'],
    ['auth', 'LOG_LEVEL', 'loud'],
  ])('%s refuses to start when %s is %s, naming the variable', async (name, variable, value) => {
    const sut = ServiceProcess.start(entry(name), { [variable]: value }, await freePort());
    const result = await sut.exited;
    expect(result.code).toBe(1);
    expect(sut.stderr).toContain(`${name}: invalid configuration: ${variable}:`);
    expect(sut.stderr).toContain(`"${value}"`);
  });

  it('runs migrate idempotently: schema and topics exist, a second run creates nothing', async () => {
    const sut = ServiceProcess.start(entry('orders'), {}, await freePort(), ['migrate']);
    expect((await sut.exited).code).toBe(0);
    const report = JSON.parse(sut.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    expect(report).toMatchObject({ service: 'orders', schema: 'orders', migrationsApplied: [], topicsCreated: [] });
  });
});
