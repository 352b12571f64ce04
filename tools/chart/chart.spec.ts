// charts/keelson as a cluster would receive it: `helm template` output, parsed, held against
// the services' own code (ports, config schemas, which ones migrate and what they connect to)
// and against prometheus/ and grafana/. Needs helm: $HELM, $KEELSON_TOOLS_DIR/bin/helm,
// .tools/bin/helm or helm on PATH (install: see charts/README.md).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '@keelson/config';
import { parse, parseAllDocuments } from 'yaml';
import { configSchema as cacheInvalidatorConfig } from '../../apps/cache-invalidator/src/config';
import { CONFIG_SCHEMAS } from './service-configs';

const root = path.resolve(__dirname, '../..');
const chartDir = path.join(root, 'charts/keelson');
const RELEASE = 'keelson';
const NAMESPACE = 'keelson';
const SERVICES = ['gateway', 'auth', 'orders', 'replay', 'cache-invalidator', 'benchmark'] as const;
type ServiceName = (typeof SERVICES)[number];
const STANDARD_LABELS = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/version',
  'app.kubernetes.io/part-of',
  'app.kubernetes.io/managed-by',
  'helm.sh/chart',
];
const SELECTOR_KEYS = ['app.kubernetes.io/component', 'app.kubernetes.io/instance', 'app.kubernetes.io/name'];
const ALL_FEATURES = path.join(chartDir, 'ci/all-features-values.yaml');
const KIND = path.join(chartDir, 'ci/kind-values.yaml');

// ---------------------------------------------------------------------------------------------
// The Kubernetes shapes the assertions read.
type Labels = Record<string, string>;
interface Meta {
  name: string;
  namespace?: string;
  labels?: Labels;
  annotations?: Labels;
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: Meta;
}
interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  command: string[];
  ports?: { name: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodTemplate {
  metadata: Meta;
  spec: {
    serviceAccountName?: string;
    automountServiceAccountToken?: boolean;
    enableServiceLinks?: boolean;
    securityContext?: SecurityContext;
    terminationGracePeriodSeconds?: number;
    topologySpreadConstraints?: { topologyKey: string; labelSelector: { matchLabels: Labels } }[];
    containers: Container[];
    initContainers?: Container[];
    volumes?: { name: string; emptyDir?: object }[];
  };
}
interface Deployment extends Manifest {
  spec: { replicas?: number; selector: { matchLabels: Labels }; template: PodTemplate };
}
interface Job extends Manifest {
  spec: { template: PodTemplate; ttlSecondsAfterFinished?: number };
}
interface Service extends Manifest {
  spec: { selector: Labels; ports: { name: string; port: number; targetPort: string | number }[] };
}
interface ServiceAccount extends Manifest {
  automountServiceAccountToken?: boolean;
}
interface ConfigMap extends Manifest {
  data: Record<string, string>;
}
interface Secret extends Manifest {
  stringData?: Record<string, string>;
  data?: Record<string, string>;
}
interface Hpa extends Manifest {
  spec: {
    scaleTargetRef: { kind: string; name: string };
    minReplicas: number;
    maxReplicas: number;
    metrics: { type: string; resource?: { name: string }; pods?: { metric: { name: string } } }[];
    behavior?: { scaleDown?: { stabilizationWindowSeconds?: number } };
  };
}
interface ScaledObject extends Manifest {
  spec: {
    scaleTargetRef: { name: string };
    advanced?: { horizontalPodAutoscalerConfig?: { name?: string; behavior?: { scaleDown?: { stabilizationWindowSeconds?: number } } } };
    triggers: { type: string; metadata: Record<string, string> }[];
  };
}
interface Pdb extends Manifest {
  spec: { selector: { matchLabels: Labels } };
}
interface Peer {
  podSelector?: { matchLabels?: Labels };
  namespaceSelector?: { matchLabels?: Labels };
  ipBlock?: { cidr: string };
}
interface PolicyRule {
  ports?: { port: number | string; protocol?: string }[];
  from?: Peer[];
  to?: Peer[];
}
interface NetworkPolicy extends Manifest {
  spec: { podSelector: { matchLabels?: Labels }; policyTypes: string[]; ingress?: PolicyRule[]; egress?: PolicyRule[] };
}
interface ServiceMonitor extends Manifest {
  spec: { selector: { matchLabels: Labels }; endpoints: { port: string; path: string; honorLabels?: boolean }[] };
}
interface RuleGroup {
  name: string;
  rules: { alert?: string; record?: string; expr: string }[];
}
interface PrometheusRule extends Manifest {
  spec: { groups: RuleGroup[] };
}
interface Ingress extends Manifest {
  spec: {
    ingressClassName?: string;
    tls?: { secretName: string; hosts: string[] }[];
    rules: { host: string; http: { paths: { path: string; backend: { service: { name: string; port: { name?: string } } } }[] } }[];
  };
}

// ---------------------------------------------------------------------------------------------
// helm

function findHelm(): string {
  const candidates = [
    process.env.HELM,
    process.env.KEELSON_TOOLS_DIR && path.join(process.env.KEELSON_TOOLS_DIR, 'bin/helm'),
    path.join(root, '.tools/bin/helm'),
  ];
  for (const candidate of candidates) if (candidate && existsSync(candidate)) return candidate;
  if (spawnSync('helm', ['version', '--short']).status === 0) return 'helm';
  throw new Error(
    'helm not found (looked at $HELM, $KEELSON_TOOLS_DIR/bin/helm, .tools/bin/helm and PATH). Install it with: ' +
      'GOBIN="$PWD/.tools/bin" go install helm.sh/helm/v3/cmd/helm@v3.22.0',
  );
}

let helmPath: string | undefined;
const helm = (args: string[]) => {
  helmPath ??= findHelm();
  return spawnSync(helmPath, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
};

/** Values for one render: files (-f) and/or an object (written to a temporary values file). */
interface RenderInput {
  files?: string[];
  values?: object;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'keelson-chart-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});
let tmpCount = 0;

function helmTemplate({ files = [], values }: RenderInput) {
  const args = ['template', RELEASE, chartDir, '--namespace', NAMESPACE];
  for (const file of files) args.push('--values', file);
  if (values) {
    const file = path.join(tmp, `values-${++tmpCount}.json`);
    writeFileSync(file, JSON.stringify(values));
    args.push('--values', file);
  }
  return helm(args);
}

const renders = new Map<string, Manifest[]>();
/** The manifests `helm template` renders for the input (memoised). */
function render(input: RenderInput = {}): Manifest[] {
  const key = JSON.stringify(input);
  const cached = renders.get(key);
  if (cached) return cached;
  const result = helmTemplate(input);
  if (result.status !== 0) throw new Error(`helm template failed:\n${result.stderr}`);
  const manifests = parseAllDocuments(result.stdout)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
  renders.set(key, manifests);
  return manifests;
}

/** helm template's error output for values that must not render. */
function renderError(input: RenderInput): string {
  const result = helmTemplate(input);
  if (result.status === 0) throw new Error(`expected helm template to fail for ${JSON.stringify(input)}`);
  return result.stderr;
}

/** The shape each kind is read as. */
interface Kinds {
  ConfigMap: ConfigMap;
  Deployment: Deployment;
  HorizontalPodAutoscaler: Hpa;
  Ingress: Ingress;
  Job: Job;
  NetworkPolicy: NetworkPolicy;
  PodDisruptionBudget: Pdb;
  PrometheusRule: PrometheusRule;
  ScaledObject: ScaledObject;
  Secret: Secret;
  Service: Service;
  ServiceAccount: ServiceAccount;
  ServiceMonitor: ServiceMonitor;
}
const ofKind = <K extends keyof Kinds>(manifests: Manifest[], kind: K) => manifests.filter((m) => m.kind === kind) as Kinds[K][];
const named = <K extends keyof Kinds>(manifests: Manifest[], kind: K, name: string): Kinds[K] => {
  const found = ofKind(manifests, kind).find((m) => m.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} rendered`);
  return found;
};
const resourceName = (service: string) => `${RELEASE}-${service}`;
const isHook = (m: Manifest) => m.metadata.annotations?.['helm.sh/hook'] !== undefined;
const componentOf = (m: Manifest) => m.metadata.labels?.['app.kubernetes.io/component'];
const selects = (selector: Labels | undefined, labels: Labels | undefined) =>
  Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
const deploymentOf = (manifests: Manifest[], service: ServiceName) => named(manifests, 'Deployment', resourceName(service));
const mainContainer = (d: Deployment | Job) => {
  const container = d.spec.template.spec.containers[0];
  if (!container) throw new Error(`${d.metadata.name} has no container`);
  return container;
};
const envOf = (container: Container) => new Map((container.env ?? []).map((e) => [e.name, e]));

/** The environment a container starts with: its ConfigMaps, then its own env (secrets as "secret"). */
function effectiveEnv(manifests: Manifest[], container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) Object.assign(env, named(manifests, 'ConfigMap', source.configMapRef.name).data);
  }
  for (const e of container.env ?? []) env[e.name] = e.value ?? (e.valueFrom?.secretKeyRef ? 'secret' : '');
  return env;
}

// ---------------------------------------------------------------------------------------------
// What the code says about each service.

const appSource = (service: string, file: string) => readFileSync(path.join(root, 'apps', service, 'src', file), 'utf8');
function codeFacts(service: ServiceName) {
  const config = appSource(service, 'config.ts');
  const port = /baseConfigSchema\((\d+)\)/.exec(config)?.[1];
  if (port === undefined) throw new Error(`apps/${service}/src/config.ts: no baseConfigSchema(<port>)`);
  return {
    port: Number(port),
    postgresql: config.includes('postgresConfigSchema'),
    redis: config.includes('redisConfigSchema'),
    kafka: config.includes('kafkaConfigSchema'),
    migrates: /\bmigrate:/.test(appSource(service, 'main.ts')),
  };
}

beforeAll(() => {
  helmPath = findHelm();
});

jest.setTimeout(60_000);

// ---------------------------------------------------------------------------------------------

describe('charts/keelson/files', () => {
  // The chart's copies of the rule files and dashboards; `node tools/chart/sync-files.mjs` refreshes them.
  it.each([
    ['prometheus', 'charts/keelson/files/prometheus', '.rules.yml'],
    ['grafana', 'charts/keelson/files/grafana', '.json'],
  ])('holds exact copies of %s/', (from, to, suffix) => {
    const files = (dir: string) =>
      readdirSync(path.join(root, dir))
        .filter((f) => f.endsWith(suffix))
        .sort();
    expect(files(to)).toEqual(files(from));
    for (const file of files(from))
      expect([file, readFileSync(path.join(root, to, file), 'utf8') === readFileSync(path.join(root, from, file), 'utf8')]).toEqual([
        file,
        true,
      ]);
  });
});

describe('helm lint --strict', () => {
  it.each([
    ['the default values', []],
    ['ci/all-features-values.yaml', ['--values', ALL_FEATURES]],
    ['ci/kind-values.yaml', ['--values', KIND]],
  ])('passes with %s', (_name, args) => {
    const result = helm(['lint', '--strict', chartDir, ...args]);
    expect(result.stderr + result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(result.status).toBe(0);
  });
});

describe.each([
  ['default values', {}],
  ['all features', { files: [ALL_FEATURES] }],
  ['kind', { files: [KIND] }],
] as [string, RenderInput][])('rendered with %s', (_name, input) => {
  const manifests = () => render(input);

  it('renders a Deployment, Service, ServiceAccount, ConfigMap, PDB, ServiceMonitor and NetworkPolicy per service', () => {
    for (const service of SERVICES) {
      for (const kind of [
        'Deployment',
        'Service',
        'ServiceAccount',
        'ConfigMap',
        'PodDisruptionBudget',
        'ServiceMonitor',
        'NetworkPolicy',
      ] as const)
        expect(ofKind(manifests(), kind).filter((m) => !isHook(m) && m.metadata.name === resourceName(service))).toHaveLength(1);
    }
  });

  it('puts the standard labels on every resource and selects on name, instance and component only', () => {
    for (const m of manifests()) {
      for (const label of STANDARD_LABELS) expect([m.kind, m.metadata.name, label, m.metadata.labels?.[label]]).not.toContain(undefined);
      expect(m.metadata.labels?.['app.kubernetes.io/instance']).toBe(RELEASE);
      expect(m.metadata.labels?.['app.kubernetes.io/part-of']).toBe('keelson');
      expect(m.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('Helm');
    }
    for (const service of SERVICES) {
      const deployment = deploymentOf(manifests(), service);
      const selector = deployment.spec.selector.matchLabels;
      expect(Object.keys(selector).sort()).toEqual(SELECTOR_KEYS);
      expect(selector['app.kubernetes.io/component']).toBe(service);
      expect(selects(selector, deployment.spec.template.metadata.labels)).toBe(true);
      for (const label of STANDARD_LABELS) expect(deployment.spec.template.metadata.labels?.[label]).toBeDefined();
      expect(named(manifests(), 'Service', resourceName(service)).spec.selector).toEqual(selector);
      expect(named(manifests(), 'PodDisruptionBudget', resourceName(service)).spec.selector.matchLabels).toEqual(selector);
      // No other workload's pods fall under this selector (the migration Jobs have their own component).
      const others = [...ofKind(manifests(), 'Deployment'), ...ofKind(manifests(), 'Job')].filter((w) => w !== deployment);
      for (const other of others)
        expect([other.metadata.name, selects(selector, other.spec.template.metadata.labels)]).toEqual([other.metadata.name, false]);
    }
  });

  it('listens on the port the code defaults to: PORT = containerPort = Service targetPort, probes on it', () => {
    for (const service of SERVICES) {
      const container = mainContainer(deploymentOf(manifests(), service));
      const { port } = codeFacts(service);
      const httpPort = container.ports?.find((p) => p.name === 'http');
      expect(httpPort?.containerPort).toBe(port);
      expect(envOf(container).get('PORT')?.value).toBe(String(port));
      expect(envOf(container).get('HOST')?.value).toBe('0.0.0.0');
      const servicePort = named(manifests(), 'Service', resourceName(service)).spec.ports;
      expect(servicePort).toHaveLength(1);
      expect(servicePort[0]?.port).toBe(port);
      const target = servicePort[0]?.targetPort;
      expect(typeof target === 'string' ? container.ports?.find((p) => p.name === target)?.containerPort : target).toBe(port);
      const probePort = (probe: Probe | undefined) => {
        const p = probe?.httpGet?.port;
        return typeof p === 'string' ? container.ports?.find((c) => c.name === p)?.containerPort : p;
      };
      expect([container.startupProbe?.httpGet?.path, probePort(container.startupProbe)]).toEqual(['/health/live', port]);
      expect([container.readinessProbe?.httpGet?.path, probePort(container.readinessProbe)]).toEqual(['/health/ready', port]);
      expect([container.livenessProbe?.httpGet?.path, probePort(container.livenessProbe)]).toEqual(['/health/live', port]);
    }
  });

  it('runs each service as its own container, named after it, with `node dist/apps/<service>/src/main.js`', () => {
    for (const service of SERVICES) {
      const container = mainContainer(deploymentOf(manifests(), service));
      expect(container.name).toBe(service);
      expect(container.command).toEqual(['node', `dist/apps/${service}/src/main.js`]);
    }
  });

  it('gives each service an environment its own config schema accepts, with no variable it does not read', () => {
    for (const service of SERVICES) {
      const schema = CONFIG_SCHEMAS[service];
      const env = effectiveEnv(manifests(), mainContainer(deploymentOf(manifests(), service)));
      const unknown = Object.keys(env).filter((name) => !(name in schema.shape));
      expect([service, unknown]).toEqual([service, []]);
      expect(() => loadConfig(schema, env)).not.toThrow();
    }
  });

  it('restricts every pod and container (non-root, read-only root with an emptyDir /tmp, no privilege escalation, no capabilities, RuntimeDefault seccomp)', () => {
    const workloads = [...ofKind(manifests(), 'Deployment'), ...ofKind(manifests(), 'Job')];
    expect(workloads.length).toBeGreaterThan(0);
    const serviceAccounts = new Map(ofKind(manifests(), 'ServiceAccount').map((sa) => [sa.metadata.name, sa]));
    for (const workload of workloads) {
      const pod = workload.spec.template.spec;
      expect([workload.metadata.name, pod.securityContext?.runAsNonRoot]).toEqual([workload.metadata.name, true]);
      expect(pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
      expect(pod.automountServiceAccountToken).toBe(false);
      const account = serviceAccounts.get(pod.serviceAccountName ?? '');
      expect([workload.metadata.name, account?.automountServiceAccountToken]).toEqual([workload.metadata.name, false]);
      const emptyDirs = new Set((pod.volumes ?? []).filter((v) => v.emptyDir).map((v) => v.name));
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        const sc = container.securityContext;
        expect([container.name, sc?.runAsNonRoot, sc?.readOnlyRootFilesystem, sc?.allowPrivilegeEscalation]).toEqual([
          container.name,
          true,
          true,
          false,
        ]);
        expect(sc?.capabilities?.drop).toContain('ALL');
        expect(sc?.capabilities?.add ?? []).toEqual([]);
        expect(sc?.seccompProfile?.type ?? pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
        const tmpMount = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
        expect(tmpMount && emptyDirs.has(tmpMount.name)).toBe(true);
      }
    }
  });

  it('turns service links off in every pod: the environment is the chart’s, not every Service’s *_SERVICE_HOST', () => {
    const workloads = [...ofKind(manifests(), 'Deployment'), ...ofKind(manifests(), 'Job')];
    expect(workloads.length).toBeGreaterThan(SERVICES.length);
    for (const workload of workloads)
      expect([workload.kind, workload.metadata.name, workload.spec.template.spec.enableServiceLinks]).toEqual([
        workload.kind,
        workload.metadata.name,
        false,
      ]);
  });

  it('gives the kubelet more time than the service takes to drain and stop', () => {
    for (const service of SERVICES) {
      const pod = deploymentOf(manifests(), service).spec.template.spec;
      const container = mainContainer(deploymentOf(manifests(), service));
      const graceMs = Number(envOf(container).get('SHUTDOWN_GRACE_MS')?.value);
      const drainMs = Number(envOf(container).get('SHUTDOWN_DRAIN_DELAY_MS')?.value);
      const preStopMs = (container.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
      expect(drainMs).toBeGreaterThan(0);
      expect(drainMs).toBeLessThan(graceMs);
      // At least a second between the app's own deadline and SIGKILL.
      expect((pod.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThanOrEqual(preStopMs + graceMs + 1000);
    }
  });

  it('spreads each service over zones and nodes', () => {
    for (const service of SERVICES) {
      const deployment = deploymentOf(manifests(), service);
      const constraints = deployment.spec.template.spec.topologySpreadConstraints ?? [];
      expect(constraints.map((c) => c.topologyKey).sort()).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
      for (const c of constraints) expect(c.labelSelector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    }
  });

  it('scales each workload with at most one autoscaler, and leaves replicas to it', () => {
    const hpas = ofKind(manifests(), 'HorizontalPodAutoscaler');
    const scaledObjects = ofKind(manifests(), 'ScaledObject');
    for (const service of SERVICES) {
      const deployment = deploymentOf(manifests(), service);
      const scalers = [
        ...hpas.filter((h) => h.spec.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === deployment.metadata.name),
        ...scaledObjects.filter((s) => s.spec.scaleTargetRef.name === deployment.metadata.name),
      ];
      expect(scalers.length).toBeLessThanOrEqual(1);
      expect([service, deployment.spec.replicas === undefined]).toEqual([service, scalers.length === 1]);
    }
    for (const hpa of hpas) {
      expect(hpa.metadata.name).toBe(hpa.spec.scaleTargetRef.name);
      expect(hpa.spec.metrics.some((m) => m.type === 'Resource' && m.resource?.name === 'cpu')).toBe(true);
      expect(hpa.spec.behavior?.scaleDown?.stabilizationWindowSeconds).toBe(300);
    }
  });

  it('scrapes every service on its /metrics port, keeping the services’ own `service` label', () => {
    for (const service of SERVICES) {
      const monitor = named(manifests(), 'ServiceMonitor', resourceName(service));
      const svc = named(manifests(), 'Service', resourceName(service));
      expect(selects(monitor.spec.selector.matchLabels, svc.metadata.labels)).toBe(true);
      const others = ofKind(manifests(), 'Service').filter((s) => s !== svc);
      for (const other of others) expect(selects(monitor.spec.selector.matchLabels, other.metadata.labels)).toBe(false);
      expect(monitor.spec.endpoints).toHaveLength(1);
      expect(monitor.spec.endpoints[0]).toMatchObject({ path: '/metrics', honorLabels: true });
      expect(svc.spec.ports.map((p) => p.name)).toContain(monitor.spec.endpoints[0]?.port);
    }
  });

  it('points the gateway at the rendered Services of its upstreams, and auth and gateway at one issuer', () => {
    const gatewayEnv = effectiveEnv(manifests(), mainContainer(deploymentOf(manifests(), 'gateway')));
    for (const upstream of ['auth', 'orders', 'replay', 'cache-invalidator', 'benchmark'] as const) {
      const url = new URL(gatewayEnv[`${upstream.toUpperCase().replace('-', '_')}_URL`] ?? '');
      const svc = named(manifests(), 'Service', resourceName(upstream));
      expect(url.hostname).toBe(`${svc.metadata.name}.${NAMESPACE}.svc`);
      expect(Number(url.port)).toBe(svc.spec.ports[0]?.port);
    }
    const authEnv = effectiveEnv(manifests(), mainContainer(deploymentOf(manifests(), 'auth')));
    expect(gatewayEnv.AUTH_ISSUER).toBeDefined();
    expect(gatewayEnv.AUTH_ISSUER).toBe(authEnv.AUTH_ISSUER);
    expect(gatewayEnv.AUTH_AUDIENCE).toBe(authEnv.AUTH_AUDIENCE);
    const warmUrls = effectiveEnv(manifests(), mainContainer(deploymentOf(manifests(), 'cache-invalidator'))).CACHE_WARM_URLS ?? '';
    expect(warmUrls).toContain(`http://${resourceName('orders')}.${NAMESPACE}.svc:3002/api/v1/orders/{id}`);
  });

  it('connects each service to exactly the PostgreSQL, Redis and Kafka its config reads', () => {
    for (const service of SERVICES) {
      const facts = codeFacts(service);
      const env = effectiveEnv(manifests(), mainContainer(deploymentOf(manifests(), service)));
      expect([service, 'DATABASE_HOST' in env, 'REDIS_HOST' in env, 'KAFKA_BROKERS' in env]).toEqual([
        service,
        facts.postgresql,
        facts.redis,
        facts.kafka,
      ]);
    }
  });

  it('migrates, before install and upgrade, exactly the services whose main.ts has a migrate command', () => {
    const jobs = ofKind(manifests(), 'Job');
    const migrating = SERVICES.filter((s) => codeFacts(s).migrates);
    expect(migrating).not.toContain('gateway');
    expect(jobs.map((j) => j.metadata.name).sort()).toEqual(migrating.map((s) => resourceName(`${s}-migrate`)).sort());
    for (const service of migrating) {
      const job = named(manifests(), 'Job', resourceName(`${service}-migrate`));
      const annotations = job.metadata.annotations ?? {};
      expect(annotations['helm.sh/hook']?.split(',').sort()).toEqual(['pre-install', 'pre-upgrade']);
      expect(annotations['helm.sh/hook-delete-policy']?.split(',').sort()).toEqual(['before-hook-creation', 'hook-succeeded']);
      const container = mainContainer(job);
      expect(container.command).toEqual(['node', `dist/apps/${service}/src/main.js`, 'migrate']);
      // Hooks run before the release's own resources exist: everything the Job uses is a hook too, created first.
      const weight = (m: Manifest) => Number(m.metadata.annotations?.['helm.sh/hook-weight'] ?? 0);
      const used: Manifest[] = [
        named(manifests(), 'ServiceAccount', job.spec.template.spec.serviceAccountName ?? ''),
        ...(container.envFrom ?? []).flatMap((s) => (s.configMapRef ? [named(manifests(), 'ConfigMap', s.configMapRef.name)] : [])),
        ...(container.env ?? []).flatMap((e) => {
          const ref = e.valueFrom?.secretKeyRef;
          const secret = ref && ofKind(manifests(), 'Secret').find((s) => s.metadata.name === ref.name);
          return secret ? [secret] : [];
        }),
      ];
      for (const m of used) {
        expect([m.kind, m.metadata.name, m.metadata.annotations?.['helm.sh/hook']]).toEqual([
          m.kind,
          m.metadata.name,
          annotations['helm.sh/hook'],
        ]);
        expect(weight(m)).toBeLessThan(weight(job));
      }
      // The same configuration as the service it migrates.
      const deploymentEnv = effectiveEnv(manifests(), mainContainer(deploymentOf(manifests(), service)));
      expect(effectiveEnv(manifests(), container)).toEqual(deploymentEnv);
    }
  });

  it('denies all traffic of the release’s pods by default', () => {
    const policies = ofKind(manifests(), 'NetworkPolicy');
    const denyAll = policies.filter(
      (p) =>
        p.spec.policyTypes.includes('Ingress') &&
        p.spec.policyTypes.includes('Egress') &&
        !p.spec.ingress?.length &&
        !p.spec.egress?.length,
    );
    expect(denyAll).toHaveLength(1);
    const pods = [...ofKind(manifests(), 'Deployment'), ...ofKind(manifests(), 'Job')].map((w) => w.spec.template.metadata.labels);
    for (const labels of pods) expect(selects(denyAll[0]?.spec.podSelector.matchLabels, labels)).toBe(true);
  });

  it('allows only the service-to-service paths of the architecture', () => {
    const allowed = reachability(manifests());
    expect(allowed.sort()).toEqual(
      [
        'gateway → auth',
        'gateway → orders',
        'gateway → replay',
        'gateway → cache-invalidator',
        'gateway → benchmark',
        'cache-invalidator → orders',
      ].sort(),
    );
  });

  it('admits connections from outside the release only to the gateway (and Prometheus’s scrapes)', () => {
    // networkPolicy.prometheusFrom as the values files of this render set it (the last one wins).
    let prometheusFrom = '';
    for (const file of [path.join(chartDir, 'values.yaml'), ...(input.files ?? [])]) {
      const peers = (parse(readFileSync(file, 'utf8')) as { networkPolicy?: { prometheusFrom?: Peer[] } }).networkPolicy?.prometheusFrom;
      if (peers) prometheusFrom = JSON.stringify(peers);
    }
    const releasePeer = (peer: Peer) =>
      !peer.namespaceSelector && !peer.ipBlock && peer.podSelector?.matchLabels?.['app.kubernetes.io/instance'] === RELEASE;
    for (const policy of ofKind(manifests(), 'NetworkPolicy')) {
      if (componentOf(policy) === 'gateway') continue;
      for (const rule of policy.spec.ingress ?? []) {
        const outside = (rule.from ?? [{}]).filter((peer) => !releasePeer(peer));
        // Peers from outside the release: Prometheus only, on the service port only.
        if (outside.length > 0) {
          expect([policy.metadata.name, rule.ports?.map((p) => p.port)]).toEqual([policy.metadata.name, ['http']]);
          expect(JSON.stringify(rule.from)).toBe(prometheusFrom);
        }
      }
    }
  });

  it('lets every pod resolve names and reach the PostgreSQL, Redis and Kafka ports it uses', () => {
    const policies = ofKind(manifests(), 'NetworkPolicy');
    const egressPorts = (labels: Labels | undefined) =>
      policies
        .filter((p) => p.spec.policyTypes.includes('Egress') && selects(p.spec.podSelector.matchLabels, labels))
        .flatMap((p) => p.spec.egress ?? [])
        .flatMap((rule) => (rule.ports ?? []).map((port) => String(port.port)));
    for (const service of SERVICES) {
      const facts = codeFacts(service);
      const deployment = deploymentOf(manifests(), service);
      const env = effectiveEnv(manifests(), mainContainer(deployment));
      const expected = ['53'];
      if (facts.postgresql) expected.push(env.DATABASE_PORT ?? '');
      if (facts.redis) expected.push(env.REDIS_PORT ?? '');
      if (facts.kafka) expected.push(...(env.KAFKA_BROKERS ?? '').split(',').map((b) => b.split(':')[1] ?? ''));
      expect(egressPorts(deployment.spec.template.metadata.labels)).toEqual(expect.arrayContaining(expected));
      const job = ofKind(manifests(), 'Job').find((j) => j.metadata.name === resourceName(`${service}-migrate`));
      if (job) {
        const jobExpected = expected.filter((p) => p !== env.REDIS_PORT);
        expect(egressPorts(job.spec.template.metadata.labels)).toEqual(expect.arrayContaining(jobExpected));
      }
    }
  });

  it('lets Prometheus scrape every service port', () => {
    const policies = ofKind(manifests(), 'NetworkPolicy');
    for (const service of SERVICES) {
      const labels = deploymentOf(manifests(), service).spec.template.metadata.labels;
      const fromPrometheus = policies
        .filter((p) => selects(p.spec.podSelector.matchLabels, labels))
        .flatMap((p) => p.spec.ingress ?? [])
        .filter((rule) => rule.ports?.some((port) => port.port === 'http'))
        .some((rule) => !rule.from || rule.from.some((peer) => peer.podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'prometheus'));
      expect([service, fromPrometheus]).toEqual([service, true]);
    }
  });
});

/**
 * Which of the release's services may open a connection to which, on the target's service
 * port, under the rendered NetworkPolicies (podSelector peers in the release namespace;
 * a rule without peers admits any). Both the caller's egress and the target's ingress must allow it.
 */
function reachability(manifests: Manifest[]): string[] {
  const policies = ofKind(manifests, 'NetworkPolicy');
  const pods = SERVICES.map((service) => {
    const deployment = deploymentOf(manifests, service);
    const container = mainContainer(deployment);
    return { service, labels: deployment.spec.template.metadata.labels ?? {}, ports: container.ports ?? [] };
  });
  type Pod = (typeof pods)[number];
  const peerMatches = (peers: Peer[] | undefined, pod: Pod) =>
    peers === undefined ||
    peers.some((peer) => peer.podSelector !== undefined && !peer.ipBlock && selects(peer.podSelector.matchLabels, pod.labels));
  const portMatches = (rule: PolicyRule, target: Pod, port: number) =>
    rule.ports === undefined ||
    rule.ports.some((p) =>
      typeof p.port === 'number' ? p.port === port : target.ports.find((c) => c.name === p.port)?.containerPort === port,
    );
  const allows = (pod: Pod, type: 'Ingress' | 'Egress', test: (rule: PolicyRule) => boolean) => {
    const applying = policies.filter((p) => p.spec.policyTypes.includes(type) && selects(p.spec.podSelector.matchLabels, pod.labels));
    if (applying.length === 0) return true;
    return applying.some((p) => ((type === 'Ingress' ? p.spec.ingress : p.spec.egress) ?? []).some(test));
  };
  const allowed: string[] = [];
  for (const from of pods) {
    for (const to of pods) {
      if (from === to) continue;
      const port = codeFacts(to.service).port;
      const egress = allows(from, 'Egress', (rule) => peerMatches(rule.to, to) && portMatches(rule, to, port));
      const ingress = allows(to, 'Ingress', (rule) => peerMatches(rule.from, from) && portMatches(rule, to, port));
      if (egress && ingress) allowed.push(`${from.service} → ${to.service}`);
    }
  }
  return allowed;
}

describe('values', () => {
  it('merges services.<name> over default key by key, a false turning a default off', () => {
    const manifests = render({
      values: { services: { orders: { autoscaling: { enabled: false }, replicas: 3, resources: { limits: { memory: '1Gi' } } } } },
    });
    const orders = deploymentOf(manifests, 'orders');
    expect(orders.spec.replicas).toBe(3);
    expect(ofKind(manifests, 'HorizontalPodAutoscaler').map((h) => h.metadata.name)).not.toContain(resourceName('orders'));
    expect(ofKind(manifests, 'HorizontalPodAutoscaler').map((h) => h.metadata.name)).toContain(resourceName('auth'));
    const container = mainContainer(orders) as Container & { resources: { limits: Labels; requests: Labels } };
    expect(container.resources.limits.memory).toBe('1Gi');
    expect(container.resources.limits.cpu).toBe('1');
    expect(container.resources.requests.cpu).toBe('100m');
  });

  it('leaves out a disabled service, its migration and the gateway’s path to it', () => {
    const manifests = render({ values: { services: { benchmark: { enabled: false } } } });
    expect(manifests.filter((m) => m.metadata.name.startsWith(resourceName('benchmark')))).toEqual([]);
    const gatewayPolicy = named(manifests, 'NetworkPolicy', resourceName('gateway'));
    const targets = (gatewayPolicy.spec.egress ?? [])
      .flatMap((r) => r.to ?? [])
      .map((peer) => peer.podSelector?.matchLabels?.['app.kubernetes.io/component']);
    expect(targets).toContain('orders');
    expect(targets).not.toContain('benchmark');
  });

  it('passes extra env to the ConfigMap, numbers as plain decimals', () => {
    const manifests = render({
      values: { services: { gateway: { env: { RATE_LIMIT_PER_CLIENT: 1048576, CORS_ORIGINS: 'https://a.example' } } } },
    });
    const data = named(manifests, 'ConfigMap', resourceName('gateway')).data;
    expect(data.RATE_LIMIT_PER_CLIENT).toBe('1048576');
    expect(data.CORS_ORIGINS).toBe('https://a.example');
  });

  it.each([
    ['an unknown top-level key', { replicas: 2 }, "additional properties 'replicas' not allowed"],
    ['an unknown service setting', { default: { replica: 2 } }, "additional properties 'replica' not allowed"],
    ['an unknown service', { services: { billing: {} } }, "additional properties 'billing' not allowed"],
    ['a wrong type', { services: { orders: { replicas: 'two' } } }, 'got string, want integer'],
    ['negative replicas', { services: { orders: { replicas: -1 } } }, 'minimum: got -1, want 0'],
    ['a log level the services reject', { default: { logLevel: 'verbose' } }, '/default/logLevel'],
    ['a listener variable in env', { services: { gateway: { env: { PORT: '9000' } } } }, "invalid propertyName 'PORT'"],
    ['a password in env', { default: { env: { DATABASE_PASSWORD: 'x' } } }, "invalid propertyName 'DATABASE_PASSWORD'"],
    ['a Kafka broker without a port', { default: { kafka: { brokers: ['kafka'] } } }, '/default/kafka/brokers/0'],
    ['a pull policy Kubernetes does not know', { image: { pullPolicy: 'Sometimes' } }, '/image/pullPolicy'],
    ['a secret revision that is neither a string nor a number', { default: { secretRevision: true } }, '/default/secretRevision'],
  ])('rejects %s', (_name, values, message) => {
    const error = renderError({ values });
    expect(error).toContain("values don't meet the specifications of the schema");
    expect(error).toContain(message);
  });

  it('refuses an HPA and a KEDA ScaledObject for the same workload', () => {
    expect(renderError({ values: { services: { 'cache-invalidator': { keda: { enabled: true } } } } })).toContain(
      'services.cache-invalidator: autoscaling (HPA) and keda are both enabled',
    );
  });

  it('refuses KEDA lag scaling for a service that consumes no Kafka', () => {
    expect(renderError({ values: { services: { gateway: { autoscaling: { enabled: false }, keda: { enabled: true } } } } })).toContain(
      'does not consume from Kafka',
    );
  });

  it('refuses a drain delay as long as the grace period', () => {
    expect(renderError({ values: { default: { shutdown: { graceMs: 5000, drainDelayMs: 5000 } } } })).toContain(
      'shutdown.drainDelayMs must be below shutdown.graceMs',
    );
  });
});

describe('autoscaling', () => {
  const manifests = () => render({ files: [ALL_FEATURES] });

  it('scales the cache-invalidator on its consumer group’s lag with KEDA, through an HPA named like the Deployment', () => {
    const scaled = named(manifests(), 'ScaledObject', resourceName('cache-invalidator'));
    const deployment = deploymentOf(manifests(), 'cache-invalidator');
    expect(scaled.spec.scaleTargetRef.name).toBe(deployment.metadata.name);
    expect(scaled.spec.advanced?.horizontalPodAutoscalerConfig?.name).toBe(deployment.metadata.name);
    expect(scaled.spec.advanced?.horizontalPodAutoscalerConfig?.behavior?.scaleDown?.stabilizationWindowSeconds).toBe(300);
    const env = effectiveEnv(manifests(), mainContainer(deployment));
    const config = loadConfig(cacheInvalidatorConfig, env);
    expect(scaled.spec.triggers).toHaveLength(1);
    expect(scaled.spec.triggers[0]?.type).toBe('kafka');
    expect(scaled.spec.triggers[0]?.metadata).toMatchObject({
      consumerGroup: config.INVALIDATOR_GROUP_ID,
      bootstrapServers: config.KAFKA_BROKERS.join(','),
    });
    expect(ofKind(manifests(), 'HorizontalPodAutoscaler').map((h) => h.metadata.name)).not.toContain(deployment.metadata.name);
  });

  it('adds the custom per-pod metric to the gateway’s HPA', () => {
    const hpa = named(manifests(), 'HorizontalPodAutoscaler', resourceName('gateway'));
    expect(hpa.spec.metrics.map((m) => m.type)).toEqual(['Resource', 'Pods']);
    expect(hpa.spec.metrics[1]?.pods?.metric.name).toBe('http_server_requests_per_second');
  });
});

describe('credentials', () => {
  const passwordEnv = (container: Container) =>
    (container.env ?? []).filter((e) => e.name === 'DATABASE_PASSWORD' || e.name === 'REDIS_PASSWORD');

  it('stores passwords in each service’s Secret and references them from the Deployment and migration Job', () => {
    const manifests = render({ values: { default: { postgresql: { password: 'pg-secret' }, redis: { password: 'redis-secret' } } } });
    for (const service of SERVICES) {
      const facts = codeFacts(service);
      const container = mainContainer(deploymentOf(manifests, service));
      const refs = passwordEnv(container);
      expect(refs.map((e) => e.name).sort()).toEqual(
        [...(facts.postgresql ? ['DATABASE_PASSWORD'] : []), ...(facts.redis ? ['REDIS_PASSWORD'] : [])].sort(),
      );
      for (const e of refs) {
        const ref = e.valueFrom?.secretKeyRef;
        const secret = named(manifests, 'Secret', ref?.name ?? '');
        expect(secret.stringData?.[ref?.key ?? '']).toBe(e.name === 'DATABASE_PASSWORD' ? 'pg-secret' : 'redis-secret');
        expect(e.value).toBeUndefined();
      }
    }
    // Never in a ConfigMap.
    for (const cm of ofKind(manifests, 'ConfigMap')) expect(JSON.stringify(cm.data)).not.toMatch(/pg-secret|redis-secret/);
  });

  it('renders no Secret and references the existing one when existingSecret is set', () => {
    const manifests = render({ files: [ALL_FEATURES] });
    expect(ofKind(manifests, 'Secret')).toEqual([]);
    const workloads = [...ofKind(manifests, 'Deployment'), ...ofKind(manifests, 'Job')];
    for (const workload of workloads) {
      const service = SERVICES.find((s) => componentOf(workload) === s || componentOf(workload) === `${s}-migrate`);
      if (!service) throw new Error(`${workload.metadata.name}: no service`);
      const facts = codeFacts(service);
      const env = envOf(mainContainer(workload));
      if (facts.postgresql)
        expect(env.get('DATABASE_PASSWORD')?.valueFrom?.secretKeyRef).toEqual(
          service === 'replay' ? { name: 'keelson-replay-postgresql', key: 'password' } : { name: 'keelson-postgresql', key: 'password' },
        );
      if (facts.redis) expect(env.get('REDIS_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: 'keelson-redis', key: 'redis-password' });
    }
  });

  it('prefers existingSecret over a password given as well', () => {
    const manifests = render({ values: { default: { postgresql: { password: 'ignored', existingSecret: 'pg' } } } });
    expect(ofKind(manifests, 'Secret')).toEqual([]);
    expect(envOf(mainContainer(deploymentOf(manifests, 'orders'))).get('DATABASE_PASSWORD')?.valueFrom?.secretKeyRef?.name).toBe('pg');
  });
});

describe('checksum/config', () => {
  const checksums = (input: RenderInput) =>
    Object.fromEntries(
      SERVICES.map((s) => [s, deploymentOf(render(input), s).spec.template.metadata.annotations?.['checksum/config'] ?? '']),
    ) as Record<ServiceName, string>;

  it('changes for the service whose config changed, and only for it', () => {
    const before = checksums({});
    const after = checksums({ values: { services: { orders: { env: { CACHE_TTL_SECONDS: 60 } } } } });
    expect(before.orders).toMatch(/^[0-9a-f]{64}$/);
    expect(after.orders).not.toBe(before.orders);
    for (const s of SERVICES.filter((s) => s !== 'orders')) expect(after[s]).toBe(before[s]);
  });

  it('changes when a password or the Secret it comes from changes', () => {
    const a = checksums({ values: { default: { postgresql: { password: 'a' } } } });
    const b = checksums({ values: { default: { postgresql: { password: 'b' } } } });
    const existing = checksums({ values: { default: { postgresql: { existingSecret: 'pg' } } } });
    expect(b.orders).not.toBe(a.orders);
    expect(existing.orders).not.toBe(a.orders);
    expect(b.gateway).toBe(a.gateway); // the gateway has no database
  });
});

describe('migration hooks', () => {
  // With a stored password, so that the hook Secret is rendered too.
  const manifests = () => render({ values: { default: { postgresql: { password: 'pg-secret' } } } });
  const hooks = () => manifests().filter(isHook);

  it('deletes every hook resource before the next attempt and after success, never right after a failure', () => {
    expect([...new Set(hooks().map((m) => m.kind))].sort()).toEqual(['ConfigMap', 'Job', 'Secret', 'ServiceAccount']);
    for (const hook of hooks())
      expect([hook.kind, hook.metadata.name, hook.metadata.annotations?.['helm.sh/hook-delete-policy']?.split(',').sort()]).toEqual([
        hook.kind,
        hook.metadata.name,
        ['before-hook-creation', 'hook-succeeded'],
      ]);
  });

  it('lets Kubernetes remove a failed Job an hour after it finished, or after migration.ttlSecondsAfterFinished', () => {
    const jobs = ofKind(manifests(), 'Job');
    expect(jobs.length).toBeGreaterThan(0);
    for (const job of jobs) expect([job.metadata.name, job.spec.ttlSecondsAfterFinished]).toEqual([job.metadata.name, 3600]);
    const overridden = render({ values: { default: { migration: { ttlSecondsAfterFinished: 86400 } } } });
    for (const job of ofKind(overridden, 'Job')) expect(job.spec.ttlSecondsAfterFinished).toBe(86400);
  });

  it('has no delete-policy value to get wrong, and refuses a TTL too short to read the failure', () => {
    expect(renderError({ values: { default: { migration: { hookDeletePolicy: 'hook-failed' } } } })).toContain(
      "additional properties 'hookDeletePolicy' not allowed",
    );
    expect(renderError({ values: { default: { migration: { ttlSecondsAfterFinished: 0 } } } })).toContain(
      '/default/migration/ttlSecondsAfterFinished',
    );
  });
});

describe('secretRevision', () => {
  const podAnnotations = (input: RenderInput) =>
    Object.fromEntries(SERVICES.map((s) => [s, deploymentOf(render(input), s).spec.template.metadata.annotations ?? {}])) as Record<
      ServiceName,
      Labels
    >;
  // all-features takes every password from an existingSecret: nothing the chart renders changes when one is rotated.
  const withRevision = (revision: string | number, services?: object) =>
    podAnnotations({ files: [ALL_FEATURES], values: { default: { secretRevision: revision }, services } });

  it('is not on the pods unless set', () => {
    for (const annotations of Object.values(podAnnotations({ files: [ALL_FEATURES] })))
      expect(annotations['keelson/secret-revision']).toBeUndefined();
  });

  it('rolls every Deployment when it changes, the config checksum staying as it was', () => {
    const before = withRevision('2025-06-01');
    const after = withRevision('2025-07-01');
    for (const service of SERVICES) {
      expect([service, before[service]['keelson/secret-revision'], after[service]['keelson/secret-revision']]).toEqual([
        service,
        '2025-06-01',
        '2025-07-01',
      ]);
      expect(after[service]['checksum/config']).toBe(before[service]['checksum/config']);
    }
  });

  it('takes a number (`--set default.secretRevision=7`) and a per-service value', () => {
    const annotations = withRevision(7, { replay: { secretRevision: 'replay-1' } });
    expect(annotations.orders['keelson/secret-revision']).toBe('7');
    expect(annotations.replay['keelson/secret-revision']).toBe('replay-1');
  });
});

describe('monitoring', () => {
  const ruleFiles = readdirSync(path.join(root, 'prometheus'))
    .filter((f) => f.endsWith('.rules.yml'))
    .sort();

  it('renders one PrometheusRule per prometheus/*.rules.yml with exactly its groups', () => {
    const rules = ofKind(render(), 'PrometheusRule');
    expect(rules).toHaveLength(ruleFiles.length);
    for (const file of ruleFiles) {
      const source = parse(readFileSync(path.join(root, 'prometheus', file), 'utf8')) as { groups: RuleGroup[] };
      const rendered = named(render(), 'PrometheusRule', resourceName(file.replace('.rules.yml', '')));
      expect(rendered.spec.groups).toEqual(source.groups);
    }
  });

  it('contains every alert of prometheus/*.rules.yml', () => {
    const alerts = (groups: RuleGroup[]) => groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [`${r.alert}: ${r.expr}`] : [])));
    const expected = ruleFiles.flatMap((f) =>
      alerts((parse(readFileSync(path.join(root, 'prometheus', f), 'utf8')) as { groups: RuleGroup[] }).groups),
    );
    const rendered = ofKind(render(), 'PrometheusRule').flatMap((r) => alerts(r.spec.groups));
    expect(expected.length).toBeGreaterThan(0);
    expect(rendered.sort()).toEqual(expected.sort());
  });

  it('labels ServiceMonitors and PrometheusRules for the Prometheus release that selects them', () => {
    const manifests = render({ files: [ALL_FEATURES] });
    for (const m of [...ofKind(manifests, 'ServiceMonitor'), ...ofKind(manifests, 'PrometheusRule')]) {
      expect(m.metadata.labels?.release).toBe('kube-prometheus-stack');
      expect(m.metadata.labels?.team).toBe('platform');
    }
    for (const m of ofKind(render(), 'ServiceMonitor')) expect(m.metadata.labels?.release).toBeUndefined();
  });

  it('renders one dashboard ConfigMap per grafana/*.json, labelled for the Grafana sidecar, with the file’s exact content', () => {
    const files = readdirSync(path.join(root, 'grafana'))
      .filter((f) => f.endsWith('.json'))
      .sort();
    const dashboards = ofKind(render(), 'ConfigMap').filter((cm) => cm.metadata.labels?.grafana_dashboard !== undefined);
    expect(dashboards).toHaveLength(files.length);
    for (const file of files) {
      const cm = dashboards.find((d) => file in d.data);
      expect([file, cm?.metadata.labels?.grafana_dashboard]).toEqual([file, '1']);
      expect(cm?.data[file]).toBe(readFileSync(path.join(root, 'grafana', file), 'utf8'));
    }
  });

  it('takes the dashboard label and namespace from values', () => {
    const manifests = render({ values: { dashboards: { label: 'example.com/dashboard', labelValue: 'yes', namespace: 'monitoring' } } });
    const dashboards = ofKind(manifests, 'ConfigMap').filter((cm) => cm.metadata.labels?.['example.com/dashboard'] === 'yes');
    expect(dashboards.length).toBeGreaterThan(0);
    for (const d of dashboards) expect(d.metadata.namespace).toBe('monitoring');
  });

  it('renders no custom resources when their features are off', () => {
    const manifests = render({
      values: {
        default: { serviceMonitor: { enabled: false } },
        prometheusRule: { enabled: false },
        dashboards: { enabled: false },
        networkPolicy: { enabled: false },
      },
    });
    expect(
      manifests.map((m) => m.kind).filter((k) => ['ServiceMonitor', 'PrometheusRule', 'ScaledObject', 'NetworkPolicy'].includes(k)),
    ).toEqual([]);
    expect(ofKind(manifests, 'ConfigMap').filter((cm) => cm.metadata.labels?.grafana_dashboard)).toEqual([]);
  });
});

describe('ingress', () => {
  it('routes the public paths of the configured hosts to the gateway over TLS, and uses that URL as the token issuer', () => {
    const manifests = render({ files: [ALL_FEATURES] });
    const ingress = named(manifests, 'Ingress', resourceName('gateway'));
    const gateway = named(manifests, 'Service', resourceName('gateway'));
    expect(ingress.spec.ingressClassName).toBe('nginx');
    expect(ingress.spec.tls).toEqual([{ secretName: 'keelson-tls', hosts: ['api.keelson.example.com'] }]);
    const paths = ingress.spec.rules.flatMap((r) => r.http.paths);
    expect(paths.map((p) => p.path).sort()).toEqual(['/.well-known', '/api', '/openapi.json']);
    for (const p of paths) {
      expect(p.backend.service.name).toBe(gateway.metadata.name);
      expect(gateway.spec.ports.map((port) => port.name)).toContain(p.backend.service.port.name);
    }
    const env = effectiveEnv(manifests, mainContainer(deploymentOf(manifests, 'auth')));
    expect(env.AUTH_ISSUER).toBe('https://api.keelson.example.com');
  });

  it('is off by default', () => {
    expect(ofKind(render(), 'Ingress')).toEqual([]);
  });
});
