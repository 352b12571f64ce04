// Rehearsal without a cluster: the Helm chart rendered with `helm template` (its defaults plus
// rehearsal-values.yaml, which points PostgreSQL, Redis and Kafka at the local stack), and every
// rendered Deployment and migration hook Job run as a local process with the rendered command
// line and environment. Then the kubelet's part (startup, readiness and liveness probes on the
// pod's address), the Prometheus operator's part (each ServiceMonitor endpoint scraped, and
// registered with the local Prometheus under the labels the operator would give it) and the
// PrometheusRules loaded into the local Prometheus. It proves the chart and the services agree
// on ports, paths, environment variable names, metric labels and rules.
//
// What a cluster provides and a laptop does not, and so the only changes to what is rendered:
// - a pod's own network namespace: the service listens on a free local port instead of its
//   container port (PORT is set to it), and probes, scrapes and Services reach that container
//   port through a map {container port the app listens on → local port}; a probe, Service or
//   ServiceMonitor naming any other container port fails, as it would in the pod;
// - Service DNS: in every env value, the address of one of the chart's own Services
//   (`<name>`, `<name>.<ns>`, `<name>.<ns>.svc[.cluster.local]`, as `host:port` or as an
//   http(s) URL) becomes 127.0.0.1:<local port of the pod that Service port reaches> (via the
//   Service's port, its targetPort and the container's ports), e.g. the gateway's
//   ORDERS_URL=http://keelson-orders.<ns>.svc:3002 and AUTH_ISSUER;
// - the downward API: pod name `<deployment>-rehearsal-<run>`, namespace `chart-rehearsal-<run>`,
//   pod and host IP this machine's first non-loopback IPv4 address (127.0.0.1 without one),
//   node name this host's name.
// Everything else is exactly as rendered (ConfigMaps, Secrets via secretKeyRef, `$(VAR)`); the
// processes get PATH besides, as the image has its own. They are this repository's dist/ build
// (`node tools/dev/build.mjs` first) run by this Node from the repository root, mapped from the
// image's `node dist/apps/<service>/src/main.js` in its working directory.
//
// Environment: KEELSON_CHART_DIR (default <repo>/charts/keelson), KEELSON_REHEARSAL_VALUES
// (default tools/chart-rehearsal/rehearsal-values.yaml; several as a.yaml:b.yaml, later ones
// win), HELM (else <repo>/.tools/bin/helm, else PATH), and the Prometheus of LocalPrometheus
// (KEELSON_STACK_DIR, KEELSON_PROMETHEUS_URL).
// The rehearsal's pods use the shared stack as extra replicas would: the same consumer groups,
// outbox and caches. Not rehearsed: NetworkPolicies, security contexts (read-only root, non-root
// user), resources, autoscalers, PDBs, the image itself.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { hostname, networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigError, loadConfig } from '@keelson/config';
import { freePort, LocalPrometheus, repoRoot, ServiceProcess, SERVICES, waitFor, type ServiceName } from '@keelson/testing';
import { CONFIG_SCHEMAS } from '../chart/service-configs';
import {
  containerPortOf,
  findHelm,
  helmTemplate,
  nodeCommandLine,
  operatorTargetLabels,
  parseDuration,
  preStopSeconds,
  RenderedChart,
  rewriteServiceAddresses,
  type Container,
  type Deployment,
  type Job,
  type MonitorEndpoint,
  type PodFacts,
  type PodTemplate,
  type Probe,
  type Rewrite,
  type Service,
  type ServiceMonitor,
} from './rendered-chart';

const execFileAsync = promisify(execFile);

/** True when a TCP connection to host:port is accepted within a second. */
async function accepts(host: string, port: number): Promise<boolean> {
  const socket = connect({ host, port, timeout: 1_000 });
  try {
    return await Promise.race([
      once(socket, 'connect').then(() => true),
      once(socket, 'error').then(() => false),
      once(socket, 'timeout').then(() => false),
    ]);
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

/** Read by Node itself, not by a service's config. */
const NODE_RUNTIME_VARIABLES = new Set(['NODE_OPTIONS', 'NODE_ENV', 'NODE_EXTRA_CA_CERTS', 'TZ', 'UV_THREADPOOL_SIZE']);
const KNOWN_TO_SOME_SERVICE = new Set(Object.values(CONFIG_SCHEMAS).flatMap((schema) => Object.keys(schema.shape)));
const SERVICE_PORTS = new Set<number>(SERVICES.map((s) => s.port));
const isServiceName = (name: string): name is ServiceName => SERVICES.some((s) => s.name === name);

const run = randomUUID().slice(0, 8);
const release = 'keelson';
const namespace = `chart-rehearsal-${run}`;
const chartDir = path.resolve(process.env.KEELSON_CHART_DIR ?? path.join(repoRoot, 'charts/keelson'));
/** Values files, later ones winning (`helm --values` order); several separated by the path delimiter. */
const valuesFiles = (process.env.KEELSON_REHEARSAL_VALUES ?? path.join(__dirname, 'rehearsal-values.yaml'))
  .split(path.delimiter)
  .filter(Boolean)
  .map((file) => path.resolve(file));
const distDir = path.join(repoRoot, 'dist');
/** The pod's address as the kubelet and Prometheus reach it: not loopback when the machine has another address. */
const podIP =
  Object.values(networkInterfaces())
    .flat()
    .find((a) => a?.family === 'IPv4' && !a.internal)?.address ?? '127.0.0.1';
const LOOPBACK = /(?<![\w.-])(127\.\d+\.\d+\.\d+|localhost|\[::1\])(?::(\d+))?(?![\w.-])/g;

const chart = RenderedChart.parse(helmTemplate(findHelm(repoRoot, process.env), chartDir, release, namespace, valuesFiles), namespace);

/** One replica of a rendered workload (a Deployment's pod or a hook Job's), run here. */
interface Pod {
  owner: string;
  template: PodTemplate;
  container: Container;
  facts: PodFacts;
  /** The environment as the kubelet gives it. */
  rendered: Record<string, string>;
  service: ServiceName;
  args: string[];
  /** The port the service listens on inside the pod: rendered PORT, else its default. */
  listenPort: number;
  localPort: number;
  /** What the process gets: `rendered` after the rewrites. */
  env: Record<string, string>;
  rewrites: Rewrite[];
  /** Addresses of the chart's Services in the env that reach no listening pod, and why. */
  unreachable: string[];
  process?: ServiceProcess;
  /** The startup probe's outcome (the kubelet runs readiness and liveness only after it passed). */
  started?: Promise<string>;
}

function podFacts(owner: string, template: PodTemplate): PodFacts {
  return {
    name: `${owner}-rehearsal-${run}`,
    namespace,
    podIP,
    hostIP: podIP,
    nodeName: hostname(),
    labels: template.metadata?.labels ?? {},
    annotations: template.metadata?.annotations ?? {},
    serviceAccountName: template.spec.serviceAccountName ?? 'default',
  };
}

/** Reads a container as its pod would run it; ports and rewrites are filled in once every pod is known. */
function podOf(owner: string, template: PodTemplate, container: Container): Pod {
  const facts = podFacts(owner, template);
  let rendered: Record<string, string>, service: string, args: string[];
  try {
    rendered = chart.containerEnv(container, facts);
    ({ service, args } = nodeCommandLine(container, distDir, rendered));
  } catch (error) {
    throw new Error(`${owner}: ${(error as Error).message}`); // as the kubelet would refuse to start the container
  }
  if (!isServiceName(service)) throw new Error(`${owner}/${container.name} runs dist/apps/${service}, which is not a Keelson service`);
  return {
    owner,
    template,
    container,
    facts,
    rendered,
    service,
    args,
    listenPort: 0,
    localPort: 0,
    env: rendered,
    rewrites: [],
    unreachable: [],
  };
}

/** The service's config as it would parse `env` (throws its ConfigError). */
function effectiveConfig(pod: Pod, env: Record<string, string>): Record<string, unknown> {
  return loadConfig(CONFIG_SCHEMAS[pod.service], env);
}

const deployments = chart.deployments;
const migrationJobs = chart.hookJobs('pre-install');
const serviceMonitorEndpoints = chart.serviceMonitors.flatMap((monitor) =>
  monitor.spec.endpoints.flatMap((endpoint) => chart.monitoredServices(monitor).map((service) => ({ monitor, endpoint, service }))),
);
const probeCases = deployments.flatMap((d) =>
  (['startupProbe', 'readinessProbe', 'livenessProbe'] as const).map((kind) => [`${d.metadata.name} ${kind}`, d, kind] as const),
);

describe(`chart rehearsal: ${path.relative(repoRoot, chartDir) || chartDir} rendered and run as local processes`, () => {
  const pods = new Map<string, Pod>(); // by Deployment name
  const jobPods: Pod[] = [];
  const prometheus = new LocalPrometheus();
  const scratch = mkdtempSync(path.join(tmpdir(), 'chart-rehearsal-'));

  const podOfDeployment = (deployment: Deployment): Pod => {
    const pod = pods.get(deployment.metadata.name);
    if (!pod) throw new Error(`${deployment.metadata.name} has no pod in the rehearsal`);
    return pod;
  };

  /** The local port behind a container port of a pod, as its network namespace would route it. */
  const reach = (pod: Pod, containerPort: number): number => {
    if (containerPort !== pod.listenPort)
      throw new Error(
        `${pod.owner}: nothing listens on container port ${containerPort}; ${pod.service} listens on ${pod.listenPort} (${
          'PORT' in pod.rendered ? `PORT=${pod.rendered.PORT} as rendered` : 'its default port, PORT is not rendered'
        })`,
      );
    return pod.localPort;
  };

  /** Rewrites the pod's env (see the top of this file); an address that reaches nothing stays and is noted. */
  const rewrite = (pod: Pod) => {
    const { env, rewrites } = rewriteServiceAddresses(pod.rendered, chart.services, (service, port) => {
      try {
        const { deployment, containerPort } = chart.resolveServicePort(service, port);
        return `127.0.0.1:${reach(podOfDeployment(deployment), containerPort)}`;
      } catch (error) {
        pod.unreachable.push(`${service.metadata.name}:${port}: ${(error as Error).message}`);
        return undefined;
      }
    });
    pod.env = env;
    pod.rewrites = rewrites;
  };

  const tail = (pod: Pod) =>
    `\nstderr:\n${pod.process?.stderr.slice(-3_000) ?? ''}\nstdout tail:\n${pod.process?.stdout.slice(-2_000) ?? ''}`;

  /** The URL a kubelet httpGet probe calls: the pod address, the probe's port resolved by name, mapped to the local port. */
  function probeUrl(pod: Pod, probe: Probe): string {
    if (!probe.httpGet) throw new Error(`${pod.owner}: only httpGet probes are rehearsed (${JSON.stringify(probe)})`);
    const { path: urlPath = '/', port, host = podIP, scheme = 'HTTP' } = probe.httpGet;
    return `${scheme.toLowerCase()}://${host}:${reach(pod, containerPortOf(pod.container, port))}${urlPath}`;
  }

  /** One attempt: success is 200–399 within timeoutSeconds; redirects are not followed. */
  async function probeOnce(url: string, probe: Probe): Promise<{ ok: boolean; detail: string; refused?: boolean }> {
    const headers = {
      'user-agent': 'kube-probe/1.33',
      accept: '*/*',
      ...Object.fromEntries((probe.httpGet?.httpHeaders ?? []).map((h) => [h.name, h.value])),
    };
    try {
      const response = await fetch(url, { headers, redirect: 'manual', signal: AbortSignal.timeout((probe.timeoutSeconds ?? 1) * 1_000) });
      await response.body?.cancel();
      return { ok: response.status >= 200 && response.status < 400, detail: `GET ${url} → ${response.status}` };
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      return { ok: false, detail: `GET ${url}: ${(error as Error).message} ${cause?.code ?? ''}`, refused: cause?.code === 'ECONNREFUSED' };
    }
  }

  /**
   * Probes until success within the budget the kubelet allows (initial delay + period × failure
   * threshold), polling faster than it would; fails at once when the process exits.
   */
  async function kubeletProbe(pod: Pod, probe: Probe): Promise<string> {
    const url = probeUrl(pod, probe);
    const budgetMs = ((probe.initialDelaySeconds ?? 0) + (probe.periodSeconds ?? 10) * (probe.failureThreshold ?? 3)) * 1_000;
    let last = 'not probed';
    let loopbackOnly = false;
    const passes = waitFor(
      `${pod.owner}'s probe ${url} to pass`,
      async () => {
        const { ok, detail, refused } = await probeOnce(url, probe);
        last = detail;
        // Accepted on loopback, then still refused at the pod address: bound to loopback, it will never pass.
        loopbackOnly =
          Boolean(refused) &&
          podIP !== '127.0.0.1' &&
          (await accepts('127.0.0.1', pod.localPort)) &&
          !(await accepts(podIP, pod.localPort));
        return ok || loopbackOnly ? detail : undefined;
      },
      { timeoutMs: Math.min(budgetMs, 180_000), intervalMs: 250 },
    ).then(
      (detail) => {
        if (loopbackOnly) throw new Error(`${pod.owner} listens on loopback only, and the kubelet probes the pod address: ${detail}`);
        return detail;
      },
      (error: unknown) => {
        throw new Error(`${(error as Error).message}\nlast attempt: ${last}${tail(pod)}`);
      },
    );
    const exits = pod.process!.exited.then((result) => {
      throw new Error(`${pod.owner}'s process exited (${JSON.stringify(result)})${tail(pod)}`);
    });
    return Promise.race([passes, exits]);
  }

  async function runToCompletion(job: Job, pod: Pod): Promise<void> {
    pod.process = ServiceProcess.spawn(pod.args, pod.env, 0);
    const deadlineMs = Math.min((job.spec.activeDeadlineSeconds ?? 600) * 1_000, 180_000);
    const timer = setTimeout(() => pod.process?.signal('SIGKILL'), deadlineMs);
    try {
      const result = await pod.process.exited;
      if (result.code !== 0)
        throw new Error(`hook Job ${job.metadata.name} (${pod.container.name}) failed: ${JSON.stringify(result)}${tail(pod)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  beforeAll(async () => {
    if (!existsSync(path.join(distDir, 'apps'))) throw new Error(`no build at ${distDir}: run node tools/dev/build.mjs`);
    for (const deployment of deployments) {
      const { containers, initContainers = [] } = deployment.spec.template.spec;
      if (initContainers.length > 0 || containers.length !== 1)
        throw new Error(`${deployment.metadata.name}: the rehearsal runs pods of exactly one container and no init containers`);
      pods.set(deployment.metadata.name, podOf(deployment.metadata.name, deployment.spec.template, containers[0]!));
    }
    for (const pod of pods.values()) {
      // PORT as the pod would listen: rendered, else the service's default (an invalid env fails its own test).
      try {
        pod.listenPort = Number(effectiveConfig(pod, pod.rendered).PORT);
      } catch {
        pod.listenPort = Number(pod.rendered.PORT);
      }
      pod.localPort = await freePort();
    }
    for (const pod of pods.values()) {
      rewrite(pod);
      pod.env.PORT = String(pod.localPort);
      pod.rewrites.push({ variable: 'PORT', from: pod.rendered.PORT ?? '(unset)', to: String(pod.localPort) });
    }
    for (const job of migrationJobs) {
      const { containers, initContainers = [] } = job.spec.template.spec;
      for (const container of [...initContainers, ...containers]) {
        const pod = podOf(job.metadata.name, job.spec.template, container);
        rewrite(pod);
        jobPods.push(pod);
        await runToCompletion(job, pod);
      }
    }
    console.info(
      `rehearsal ${namespace}: ${chartDir}, values ${valuesFiles.join(', ')}, pod IP ${podIP}\n` +
        [...jobPods, ...pods.values()]
          .map((p) => `${p.owner}: ${p.rewrites.map((r) => `${r.variable} ${r.from} → ${r.to}`).join('; ') || 'no rewrites'}`)
          .join('\n'),
    );
    for (const pod of pods.values()) {
      pod.process = ServiceProcess.spawn(pod.args, pod.env, pod.localPort);
      // All pods start at once, so their startup probes run side by side, as in a cluster.
      const { startupProbe } = pod.container;
      pod.started = startupProbe ? kubeletProbe(pod, startupProbe) : Promise.resolve('no startupProbe');
      pod.started.catch(() => undefined); // awaited by the probe tests
    }
  }, 300_000);

  afterAll(async () => {
    await prometheus.cleanup();
    await Promise.all([...pods.values(), ...jobPods].flatMap((pod) => (pod.process ? [pod.process.stop(5_000)] : [])));
    rmSync(scratch, { recursive: true, force: true });
  }, 60_000);

  it('renders one Deployment per service, each running that service', () => {
    const services = deployments.map((d) => podOfDeployment(d).service).sort();
    expect(services).toEqual(SERVICES.map((s) => s.name).sort());
  });

  it('renders a migration hook Job for every service with migrations, and they succeeded', () => {
    // Every service but the gateway keeps tables (apps/<service>/src/migrate.ts).
    const withMigrations = SERVICES.map((s) => s.name).filter((name) => existsSync(path.join(repoRoot, `apps/${name}/src/migrate.ts`)));
    expect(jobPods.map((p) => p.service).sort()).toEqual(withMigrations.sort());
    for (const pod of jobPods) expect(pod.args.at(-1)).toBe('migrate');
  });

  describe.each([
    ['Deployment', () => [...pods.values()]],
    ['migration Job', () => jobPods],
  ] as const)('%s environments', (_, podsOf) => {
    it('parse as the service’s config', () => {
      const problems = podsOf().flatMap((pod) => {
        try {
          effectiveConfig(pod, pod.rendered);
          return [];
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          return [`${pod.owner}: ${error.message}`];
        }
      });
      expect(problems).toEqual([]);
    });

    it('set only variables the service reads', () => {
      const problems = podsOf().flatMap((pod) => {
        const known = new Set(Object.keys(CONFIG_SCHEMAS[pod.service].shape));
        const referenced = JSON.stringify([pod.container.env, pod.container.command, pod.container.args]);
        const explicit = (pod.container.env ?? [])
          .map((e) => e.name)
          .filter((name) => !known.has(name) && !NODE_RUNTIME_VARIABLES.has(name) && !referenced.includes(`$(${name})`))
          .map((name) => `${pod.owner}: ${name} is not read by ${pod.service} (apps/${pod.service}/src/config.ts)`);
        // A ConfigMap or Secret shared through envFrom may carry another service's settings.
        const fromSources = Object.keys(pod.rendered)
          .filter((name) => !(pod.container.env ?? []).some((e) => e.name === name))
          .filter((name) => !KNOWN_TO_SOME_SERVICE.has(name) && !NODE_RUNTIME_VARIABLES.has(name))
          .map((name) => `${pod.owner}: ${name} (envFrom) is read by no service`);
        return [...explicit, ...fromSources];
      });
      expect(problems).toEqual([]);
    });

    it('address the chart’s Services at ports their pods listen on', () => {
      expect(podsOf().flatMap((pod) => pod.unreachable.map((u) => `${pod.owner}: ${u}`))).toEqual([]);
    });

    // In a pod, loopback is the pod itself. A service default left at 127.0.0.1 (or a rendered
    // value naming a sibling service's port there) would work on this laptop, against whatever
    // runs on that port, and fail in the cluster.
    it('reach nothing but the pod itself through loopback, unless the values say so', () => {
      const problems = podsOf().flatMap((pod) => {
        let config: Record<string, unknown>;
        try {
          config = effectiveConfig(pod, pod.rendered);
        } catch {
          return []; // reported by the config test
        }
        return Object.entries(config).flatMap(([variable, value]) => {
          if (variable === 'HOST') return [];
          if (variable === 'OTEL_EXPORTER_OTLP_ENDPOINT' && config.OTEL_TRACES_EXPORTER !== 'otlp') return [];
          const text = typeof value === 'string' ? value : JSON.stringify(value);
          return [...text.matchAll(LOOPBACK)].flatMap(([match, , port]) => {
            if (!(variable in pod.rendered))
              return [`${pod.owner}: ${variable} is not rendered, so ${pod.service} uses its default ${match}: in a pod, the pod itself`];
            if (port !== undefined && SERVICE_PORTS.has(Number(port)) && Number(port) !== pod.listenPort)
              return [`${pod.owner}: ${variable}=${pod.rendered[variable] ?? ''} reaches a sibling service through loopback`];
            return [];
          });
        });
      });
      expect(problems).toEqual([]);
    });
  });

  it('listens on every interface, so the kubelet and Prometheus reach the pod address', () => {
    const loopbackHosts = [...pods.values()]
      .map((pod) => [pod.owner, String(effectiveConfig(pod, pod.rendered).HOST)] as const)
      .filter(([, host]) => /^(127\.|localhost$|::1$)/.test(host));
    expect(loopbackHosts).toEqual([]);
  });

  it.each(deployments.map((d) => [d.metadata.name, d] as const))(
    '%s: readiness answers within the probe timeout, and shutdown within the grace period',
    (_, deployment) => {
      const pod = podOfDeployment(deployment);
      const config = effectiveConfig(pod, pod.rendered);
      const { readinessProbe } = pod.container;
      const grace = (deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30) - preStopSeconds(pod.container);
      // Readiness checks its dependencies concurrently, each within HEALTH_CHECK_TIMEOUT_MS.
      expect(Number(config.HEALTH_CHECK_TIMEOUT_MS)).toBeLessThan((readinessProbe?.timeoutSeconds ?? 1) * 1_000);
      // The service exits at the latest SHUTDOWN_GRACE_MS after SIGTERM (drain included); then the kubelet's SIGKILL.
      expect(Number(config.SHUTDOWN_GRACE_MS)).toBeLessThanOrEqual(grace * 1_000);
    },
  );

  it.each(probeCases)(
    '%s passes as the kubelet probes it',
    async (_, deployment, kind) => {
      const pod = podOfDeployment(deployment);
      const probe = pod.container[kind];
      if (kind === 'startupProbe') {
        if (probe) expect(await pod.started).toMatch(/→ [23]\d\d$/); // optional: without, liveness waits initialDelaySeconds
        return;
      }
      expect(probe?.httpGet).toBeDefined();
      await pod.started!.catch(() => {
        throw new Error(`${pod.owner}'s startup probe never passed, so the kubelet runs no ${kind}`);
      });
      expect(await kubeletProbe(pod, probe!)).toMatch(/→ [23]\d\d$/);
    },
    200_000,
  );

  it('scrapes every Deployment through some ServiceMonitor', () => {
    const scraped = new Set(serviceMonitorEndpoints.flatMap(({ service }) => chart.backends(service).map((d) => d.metadata.name)));
    expect(deployments.map((d) => d.metadata.name).filter((name) => !scraped.has(name))).toEqual([]);
    const selectingNothing = chart.serviceMonitors.filter((m) => chart.monitoredServices(m).length === 0).map((m) => m.metadata.name);
    expect(selectingNothing).toEqual([]);
  });

  /** The pod, container and local URL a ServiceMonitor endpoint scrapes on one Service. */
  function scrapeTarget(monitor: ServiceMonitor, endpoint: MonitorEndpoint, service: Service) {
    let resolved: ReturnType<RenderedChart['resolveTargetPort']>;
    if (endpoint.port !== undefined) {
      const servicePort = (service.spec.ports ?? []).find((p) => p.name === endpoint.port);
      if (!servicePort) throw new Error(`${monitor.metadata.name}: Service ${service.metadata.name} has no port named "${endpoint.port}"`);
      resolved = chart.resolveTargetPort(service, servicePort);
    } else if (endpoint.targetPort !== undefined) {
      resolved = chart.resolveTargetPort(service, { port: 0, targetPort: endpoint.targetPort });
    } else throw new Error(`${monitor.metadata.name}: an endpoint names neither port nor targetPort`);
    const pod = podOfDeployment(resolved.deployment);
    const address = `${podIP}:${reach(pod, resolved.containerPort)}`;
    return { pod, address, url: `${endpoint.scheme ?? 'http'}://${address}${endpoint.path ?? '/metrics'}` };
  }

  /** Fails at once, and says why, when the Prometheus is down or reads target and rule files from another folder. */
  async function expectPrometheusReadsOurFiles(): Promise<void> {
    if (!(await prometheus.ready()))
      throw new Error(`no Prometheus at ${prometheus.url}: tools/stack/stack.sh up prometheus, or set KEELSON_PROMETHEUS_URL`);
    const { data } = (await (await fetch(`${prometheus.url}/api/v1/status/config`)).json()) as { data: { yaml: string } };
    for (const folder of ['targets', 'rules'].map((f) => path.join(prometheus.dir, f)))
      if (!data.yaml.includes(folder))
        throw new Error(
          `the Prometheus at ${prometheus.url} does not read ${folder}: set KEELSON_STACK_DIR to the stack folder it was started with`,
        );
  }

  /** Prometheus 2.42's Accept header, so the service answers the format it would. */
  const SCRAPE_ACCEPT =
    'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

  async function scrape(
    url: string,
    timeoutMs = 10_000,
  ): Promise<{ status: number; contentType: string; labels: Map<string, Set<string>> }> {
    const response = await fetch(url, { headers: { accept: SCRAPE_ACCEPT }, signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.text();
    const labels = new Map<string, Set<string>>();
    for (const line of text.split('\n')) {
      if (line.startsWith('#')) continue;
      for (const [, name, value] of line.matchAll(/[{,]\s*([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g))
        labels.set(name!, (labels.get(name!) ?? new Set()).add(value!));
    }
    return { status: response.status, contentType: response.headers.get('content-type') ?? '', labels };
  }

  it.each(
    serviceMonitorEndpoints.map(
      (e) =>
        [`${e.monitor.metadata.name} → Service ${e.service.metadata.name} port ${e.endpoint.port ?? e.endpoint.targetPort}`, e] as const,
    ),
  )('ServiceMonitor %s serves Prometheus metrics with its service label', async (_, { monitor, endpoint, service }) => {
    const { pod, url } = scrapeTarget(monitor, endpoint, service);
    // Prometheus refuses a scrape timeout longer than the interval; the operator's default timeout is 10s.
    const timeoutMs = parseDuration(endpoint.scrapeTimeout ?? '10s');
    if (endpoint.interval) expect(timeoutMs).toBeLessThanOrEqual(parseDuration(endpoint.interval));
    const { status, contentType, labels } = await scrape(url, timeoutMs);
    expect([url, status]).toEqual([url, 200]);
    expect(contentType).toMatch(/^(text\/plain|application\/openmetrics-text)/);
    expect([...(labels.get('service') ?? [])]).toEqual([pod.service]);
  });

  it('Prometheus stores each pod’s series under its service label, scraped as the operator configures it', async () => {
    await expectPrometheusReadsOurFiles();
    const targets = await Promise.all(
      serviceMonitorEndpoints.map(async ({ monitor, endpoint, service }, i) => {
        const { pod, address, url } = scrapeTarget(monitor, endpoint, service);
        // honorLabels: a label the service sets itself wins over the target's (the stack's job keeps honor_labels off).
        const ownLabels = endpoint.honorLabels ? new Set((await scrape(url)).labels.keys()) : new Set<string>();
        const labels = Object.fromEntries(
          Object.entries(operatorTargetLabels(monitor, endpoint, service, pod.facts, pod.container, address)).filter(
            ([name]) => !ownLabels.has(name),
          ),
        );
        const { __address__: relabelledAddress = address, ...groupLabels } = labels;
        return { name: `${namespace}-${i}`, pod, address: relabelledAddress, labels: groupLabels };
      }),
    );
    await Promise.all(targets.map((t) => prometheus.registerTargets(t.name, [t.address], t.labels, 60_000)));
    for (const { pod, address } of targets) {
      const series = await waitFor(`series of ${address}`, async () => {
        const found = await prometheus.query(`count by (service, exported_service) ({instance="${address}", __name__!~"up|scrape_.+"})`);
        return found.length > 0 ? found : undefined;
      });
      expect([pod.owner, series.map((s) => s.metric)]).toEqual([pod.owner, [{ service: pod.service }]]);
    }
  }, 120_000);

  it('Prometheus loads every PrometheusRule and evaluates each rule without error', async () => {
    await expectPrometheusReadsOurFiles();
    const rules = chart.prometheusRules;
    expect(rules.length).toBeGreaterThan(0);
    // promtool first, so a file Prometheus would reject never reaches the shared Prometheus's rule folder.
    for (const rule of rules) {
      const file = path.join(scratch, `${rule.metadata.name}.yml`);
      writeFileSync(file, JSON.stringify({ groups: rule.spec.groups }));
      await execFileAsync('promtool', ['check', 'rules', file]).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // no promtool: Prometheus's reload decides alone
        const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
        throw new Error(`promtool rejects PrometheusRule ${rule.metadata.name}:\n${stdout}${stderr}`);
      });
    }
    const files = new Map<string, string>();
    try {
      for (const rule of rules) {
        const name = `${namespace}-${rule.metadata.name}`;
        files.set(path.join(prometheus.dir, 'rules', `${name}.yml`), rule.metadata.name);
        await prometheus.loadRules(name, rule.spec.groups);
      }
      const groups = await waitFor(
        'every rule of the PrometheusRules to be evaluated once',
        async () => {
          const mine = (await prometheus.rules()).filter((g) => files.has(g.file));
          return mine.every((g) => g.rules.every((r) => r.health !== 'unknown')) ? mine : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      expect(groups.map((g) => g.name).sort()).toEqual(rules.flatMap((r) => r.spec.groups.map((g) => g.name)).sort());
      // The stack's Prometheus also loads prometheus/*.rules.yml, the same recording rules: two
      // groups writing one series may collide on a timestamp, which says nothing about the chart.
      const collision = /out of order sample|duplicate sample for timestamp/i;
      const errors = groups.flatMap((g) =>
        g.rules
          .filter((r) => r.health !== 'ok' && !collision.test(r.lastError ?? ''))
          .map((r) => `${files.get(g.file) ?? g.file} / ${g.name} / ${r.name}: ${r.health} ${r.lastError ?? ''}`),
      );
      expect(errors).toEqual([]);
    } finally {
      await prometheus.cleanup(); // also drops the rules at once: their alerts duplicate the stack's own
    }
  }, 120_000);

  it('stops every Deployment’s process cleanly on SIGTERM within its grace period (SIGKILL after it)', async () => {
    const results = await Promise.all(
      deployments.map(async (deployment) => {
        const pod = podOfDeployment(deployment);
        // Only once it is serving: a SIGTERM while Node still loads the app ends it before its handler is set.
        await waitFor(`${pod.owner} to listen on ${pod.localPort}`, async () =>
          (await accepts('127.0.0.1', pod.localPort)) || (await accepts(podIP, pod.localPort)) ? true : undefined,
        );
        const grace = (deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30) - preStopSeconds(pod.container);
        return [pod.owner, await pod.process!.stop(grace * 1_000)] as const;
      }),
    );
    expect(results).toEqual(deployments.map((d) => [d.metadata.name, { code: 0, signal: null }]));
  }, 120_000);
});
