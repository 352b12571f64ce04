// The chart as `helm template` renders it, read the way the cluster would read it: which
// pods run, with what command line and environment (ConfigMap, Secret and downward-API
// references resolved, `$(VAR)` expanded), which port a probe, a Service or a ServiceMonitor
// endpoint reaches, and what the Prometheus operator would make of a ServiceMonitor.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export type Labels = Record<string, string>;

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Labels;
  annotations?: Record<string, string>;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

interface KeyRef {
  name: string;
  key: string;
  optional?: boolean;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: KeyRef;
    configMapKeyRef?: KeyRef;
    fieldRef?: { fieldPath: string };
    resourceFieldRef?: { containerName?: string; resource: string; divisor?: string | number };
  };
}

interface EnvFromSource {
  prefix?: string;
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

export interface HttpGetAction {
  path?: string;
  port: number | string;
  host?: string;
  scheme?: string;
  httpHeaders?: { name: string; value: string }[];
}

export interface Probe {
  httpGet?: HttpGetAction;
  tcpSocket?: { port: number | string };
  exec?: { command: string[] };
  grpc?: { port: number };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  ports?: ContainerPort[];
  resources?: { limits?: Record<string, string | number>; requests?: Record<string, string | number> };
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
}

export interface PodTemplate {
  metadata?: { labels?: Labels; annotations?: Record<string, string> };
  spec: {
    containers: Container[];
    initContainers?: Container[];
    terminationGracePeriodSeconds?: number;
    serviceAccountName?: string;
  };
}

export interface Deployment extends KubeObject {
  spec: { replicas?: number; selector: LabelSelector; template: PodTemplate };
}

export interface Job extends KubeObject {
  spec: { template: PodTemplate; activeDeadlineSeconds?: number };
}

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
}

export interface Service extends KubeObject {
  spec: { selector?: Labels; ports?: ServicePort[] };
}

export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

export interface RelabelConfig {
  sourceLabels?: string[];
  separator?: string;
  targetLabel?: string;
  regex?: string;
  replacement?: string;
  action?: string;
}

export interface MonitorEndpoint {
  port?: string;
  targetPort?: number | string;
  path?: string;
  interval?: string;
  scrapeTimeout?: string;
  scheme?: string;
  honorLabels?: boolean;
  relabelings?: RelabelConfig[];
  metricRelabelings?: RelabelConfig[];
}

export interface ServiceMonitor extends KubeObject {
  spec: {
    selector: LabelSelector;
    namespaceSelector?: { any?: boolean; matchNames?: string[] };
    jobLabel?: string;
    targetLabels?: string[];
    podTargetLabels?: string[];
    endpoints: MonitorEndpoint[];
  };
}

export interface PrometheusRule extends KubeObject {
  spec: { groups: { name: string; interval?: string; rules: Record<string, unknown>[] }[] };
}

interface DataObject extends KubeObject {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** The facts about a pod that the kubelet and the API server fill in (downward API). */
export interface PodFacts {
  name: string;
  namespace: string;
  podIP: string;
  hostIP: string;
  nodeName: string;
  labels: Labels;
  annotations: Record<string, string>;
  serviceAccountName: string;
}

const isExecutable = (file: string) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** Helm: `$HELM` (which must exist when set), then `<repo>/.tools/bin/helm` (tools/k8s/tools.sh installs it there), then PATH. */
export function findHelm(repoRoot: string, env: NodeJS.ProcessEnv): string {
  if (env.HELM) {
    if (isExecutable(env.HELM)) return env.HELM;
    throw new Error(`HELM=${env.HELM} does not exist or is not executable`);
  }
  const candidates = [
    path.join(repoRoot, '.tools/bin/helm'),
    ...(env.PATH ?? '')
      .split(path.delimiter)
      .filter(Boolean)
      .map((d) => path.join(d, 'helm')),
  ];
  const found = candidates.find(isExecutable);
  if (found) return found;
  throw new Error(
    `helm not found: set HELM=<path to helm>, run tools/k8s/tools.sh (installs ${path.join(repoRoot, '.tools/bin/helm')}), or put helm on PATH`,
  );
}

/**
 * `helm template` of the chart, with the Prometheus operator's API declared so templates
 * gated on `.Capabilities.APIVersions.Has "monitoring.coreos.com/v1"` render their objects.
 */
export function helmTemplate(helm: string, chartDir: string, release: string, namespace: string, valuesFiles: string[]): string {
  if (!existsSync(path.join(chartDir, 'Chart.yaml')))
    throw new Error(`no chart at ${chartDir} (Chart.yaml missing); set KEELSON_CHART_DIR`);
  const args = ['template', release, chartDir, '--namespace', namespace, '--skip-tests'];
  for (const api of ['monitoring.coreos.com/v1', 'monitoring.coreos.com/v1/ServiceMonitor', 'monitoring.coreos.com/v1/PrometheusRule'])
    args.push('--api-versions', api);
  for (const file of valuesFiles) args.push('--values', file);
  try {
    return execFileSync(helm, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    throw new Error(`helm ${args.join(' ')} failed:\n${(error as { stderr?: string }).stderr ?? (error as Error).message}`);
  }
}

const HOOK = 'helm.sh/hook';

export class RenderedChart {
  private constructor(
    readonly objects: KubeObject[],
    readonly namespace: string,
  ) {}

  static parse(manifest: string, namespace: string): RenderedChart {
    const objects: KubeObject[] = [];
    for (const doc of parseAllDocuments(manifest)) {
      if (doc.errors.length > 0) throw new Error(`rendered chart is not valid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
      const value = doc.toJS() as KubeObject | { kind: 'List'; items: KubeObject[] } | null;
      if (value === null) continue;
      for (const object of value.kind === 'List' && 'items' in value ? value.items : [value as KubeObject])
        objects.push({ ...object, metadata: { ...object.metadata, namespace: object.metadata.namespace ?? namespace } });
    }
    return new RenderedChart(objects, namespace);
  }

  ofKind<T extends KubeObject>(kind: string): T[] {
    return this.objects.filter((o) => o.kind === kind) as T[];
  }

  get deployments(): Deployment[] {
    return this.ofKind<Deployment>('Deployment').filter((d) => !d.metadata.annotations?.[HOOK]);
  }

  /** Jobs that are Helm hooks for `phase` (e.g. pre-install), in the order Helm runs them: weight, then name. */
  hookJobs(phase: string): Job[] {
    const weight = (j: Job) => Number(j.metadata.annotations?.['helm.sh/hook-weight'] ?? '0');
    return this.ofKind<Job>('Job')
      .filter((j) =>
        (j.metadata.annotations?.[HOOK] ?? '')
          .split(',')
          .map((h) => h.trim())
          .includes(phase),
      )
      .sort((a, b) => weight(a) - weight(b) || a.metadata.name.localeCompare(b.metadata.name));
  }

  get services(): Service[] {
    return this.ofKind<Service>('Service');
  }

  get serviceMonitors(): ServiceMonitor[] {
    return this.ofKind<ServiceMonitor>('ServiceMonitor');
  }

  get prometheusRules(): PrometheusRule[] {
    return this.ofKind<PrometheusRule>('PrometheusRule');
  }

  /** A Secret's or ConfigMap's data as strings (Secret `data` is base64; `stringData` wins, as the API server merges it). */
  data(kind: 'Secret' | 'ConfigMap', name: string): Record<string, string> | undefined {
    const object = this.ofKind<DataObject>(kind).find((o) => o.metadata.name === name);
    if (!object) return undefined;
    const decoded = Object.fromEntries(
      Object.entries(object.data ?? {}).map(([k, v]) => [k, kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v]),
    );
    return { ...decoded, ...(object.stringData ?? {}) };
  }

  /** The Deployments whose pods `service` selects. */
  backends(service: Service): Deployment[] {
    const selector = service.spec.selector;
    if (!selector || Object.keys(selector).length === 0) return [];
    return this.deployments.filter((d) => matchesSelector({ matchLabels: selector }, d.spec.template.metadata?.labels ?? {}));
  }

  /** The Services a ServiceMonitor selects, as the operator finds them (labels, namespace selector). */
  monitoredServices(monitor: ServiceMonitor): Service[] {
    const namespaces = monitor.spec.namespaceSelector;
    const inNamespace = (s: Service) =>
      namespaces?.any === true ||
      (namespaces?.matchNames
        ? namespaces.matchNames.includes(s.metadata.namespace ?? '')
        : s.metadata.namespace === monitor.metadata.namespace);
    return this.services.filter((s) => inNamespace(s) && matchesSelector(monitor.spec.selector, s.metadata.labels ?? {}));
  }

  /**
   * Where `scheme://host:port` of one of the chart's Services lands: the pod's container port,
   * following the Service port's targetPort (a number, or a container port name).
   */
  resolveServicePort(service: Service, port: number): { deployment: Deployment; containerPort: number } {
    const servicePort = (service.spec.ports ?? []).find((p) => p.port === port);
    if (!servicePort)
      throw new Error(
        `Service ${service.metadata.name} has no port ${port} (it has ${(service.spec.ports ?? []).map((p) => p.port).join(', ') || 'none'})`,
      );
    return this.resolveTargetPort(service, servicePort);
  }

  /** The pod port a Service port forwards to (the operator scrapes this for a ServiceMonitor endpoint `port`). */
  resolveTargetPort(service: Service, servicePort: ServicePort): { deployment: Deployment; containerPort: number } {
    const [deployment, ...more] = this.backends(service);
    if (!deployment) throw new Error(`Service ${service.metadata.name} selects no Deployment's pods`);
    if (more.length > 0)
      throw new Error(
        `Service ${service.metadata.name} selects the pods of several Deployments: ${[deployment, ...more].map((d) => d.metadata.name).join(', ')}`,
      );
    const target = servicePort.targetPort ?? servicePort.port;
    const containers = deployment.spec.template.spec.containers;
    if (typeof target === 'number') return { deployment, containerPort: target };
    for (const container of containers) {
      const named = (container.ports ?? []).find((p) => p.name === target);
      if (named) return { deployment, containerPort: named.containerPort };
    }
    throw new Error(`Service ${service.metadata.name} targets port "${target}", which no container of ${deployment.metadata.name} names`);
  }

  /** A container's environment as the kubelet builds it. */
  containerEnv(container: Container, pod: PodFacts): Record<string, string> {
    const env: Record<string, string> = {};
    for (const source of container.envFrom ?? []) {
      const ref = source.configMapRef ?? source.secretRef;
      if (!ref) continue;
      const kind = source.configMapRef ? 'ConfigMap' : 'Secret';
      const data = this.data(kind, ref.name);
      if (!data) {
        if (ref.optional) continue;
        throw new Error(`container ${container.name}: envFrom ${kind} ${ref.name} is not rendered by the chart`);
      }
      for (const [key, value] of Object.entries(data)) env[`${source.prefix ?? ''}${key}`] = value;
    }
    for (const variable of container.env ?? []) {
      const value = this.envValue(container, variable, env, pod);
      if (value !== undefined) env[variable.name] = value;
    }
    return env;
  }

  private envValue(container: Container, variable: EnvVar, defined: Record<string, string>, pod: PodFacts): string | undefined {
    const from = variable.valueFrom;
    if (!from) return expandReferences(variable.value ?? '', defined);
    const keyRef = from.secretKeyRef ?? from.configMapKeyRef;
    if (keyRef) {
      const kind = from.secretKeyRef ? 'Secret' : 'ConfigMap';
      const value = this.data(kind, keyRef.name)?.[keyRef.key];
      if (value === undefined && !keyRef.optional)
        throw new Error(
          `container ${container.name}: ${variable.name} reads key "${keyRef.key}" of ${kind} ${keyRef.name}, which the chart does not render`,
        );
      return value;
    }
    if (from.fieldRef) return fieldValue(from.fieldRef.fieldPath, pod);
    if (from.resourceFieldRef) return resourceValue(container, from.resourceFieldRef);
    throw new Error(`container ${container.name}: ${variable.name} has a valueFrom this rehearsal does not know`);
  }
}

/** `$(VAR)` as the kubelet expands it in env values, command and args: defined names only; `$$` escapes. */
export function expandReferences(value: string, defined: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (name === undefined) return '$';
    return defined[name] ?? match;
  });
}

function fieldValue(fieldPath: string, pod: PodFacts): string {
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (keyed) return (keyed[1] === 'labels' ? pod.labels : pod.annotations)[keyed[2] ?? ''] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return pod.name;
    case 'metadata.namespace':
      return pod.namespace;
    case 'spec.nodeName':
      return pod.nodeName;
    case 'spec.serviceAccountName':
      return pod.serviceAccountName;
    case 'status.podIP':
    case 'status.podIPs':
      return pod.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return pod.hostIP;
    default:
      throw new Error(`fieldRef ${fieldPath} is not one the downward API offers (or this rehearsal knows)`);
  }
}

const QUANTITY_SUFFIX: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

export function parseQuantity(quantity: string | number): number {
  const match = /^([0-9.]+)([a-zA-Z]*)$/.exec(String(quantity));
  const factor = QUANTITY_SUFFIX[match?.[2] ?? '?'];
  if (!match || factor === undefined) throw new Error(`not a Kubernetes quantity: ${quantity}`);
  return Number(match[1]) * factor;
}

/** resourceFieldRef: the container's limit (or request) divided by the divisor, rounded up, as the kubelet does. */
function resourceValue(container: Container, ref: { resource: string; divisor?: string | number }): string {
  const [kind, name] = ref.resource.split('.') as ['limits' | 'requests', string];
  const quantity = container.resources?.[kind]?.[name];
  if (quantity === undefined)
    throw new Error(
      `container ${container.name}: resourceFieldRef ${ref.resource} is unset (the kubelet would use the node's allocatable)`,
    );
  return String(Math.ceil(parseQuantity(quantity) / parseQuantity(ref.divisor ?? 1)));
}

const DURATION_UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/** A Prometheus duration (`30s`, `1m30s`) in milliseconds. */
export function parseDuration(duration: string): number {
  const parts = [...duration.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== duration) throw new Error(`not a Prometheus duration: ${duration}`);
  return parts.reduce((ms, [, n, unit]) => ms + Number(n) * (DURATION_UNIT_MS[unit ?? ''] ?? 0), 0);
}

export function matchesSelector(selector: LabelSelector, labels: Labels): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    switch (operator) {
      case 'In':
        return labels[key] !== undefined && values.includes(labels[key]);
      case 'NotIn':
        return labels[key] === undefined || !values.includes(labels[key]);
      case 'Exists':
        return labels[key] !== undefined;
      case 'DoesNotExist':
        return labels[key] === undefined;
    }
  });
  return byLabels && byExpressions;
}

/** A container port by name (as probes and Services name them) or by number. */
export function containerPortOf(container: Container, port: number | string): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = (container.ports ?? []).find((p) => p.name === port);
  if (!named) throw new Error(`container ${container.name} has no port named "${port}" (ports: ${JSON.stringify(container.ports ?? [])})`);
  return named.containerPort;
}

/**
 * The container's command line as arguments for this repository's Node: the image runs
 * `node dist/apps/<service>/src/main.js [command]` from its working directory; here the same
 * script is the repository's dist/ build. Returns the service the script belongs to.
 */
export function nodeCommandLine(container: Container, distDir: string, env: Record<string, string>): { service: string; args: string[] } {
  const argv = [...(container.command ?? []), ...(container.args ?? [])].map((a) => expandReferences(a, env));
  const [executable, ...rest] = argv;
  if (executable === undefined || path.basename(executable) !== 'node')
    throw new Error(
      `container ${container.name} runs ${JSON.stringify(argv)}: the rehearsal runs \`node dist/apps/<service>/src/main.js …\` only (give the container that command)`,
    );
  let service: string | undefined;
  const args = rest.map((arg) => {
    const script = /(?:^|\/)dist\/(apps\/([\w-]+)\/src\/main\.js)$/.exec(arg);
    if (!script) return arg;
    service = script[2];
    return path.join(distDir, script[1] ?? '');
  });
  if (service === undefined)
    throw new Error(`container ${container.name} runs ${JSON.stringify(argv)}: no dist/apps/<service>/src/main.js in it`);
  return { service, args };
}

/** How long a preStop hook holds the container before SIGTERM, when it says (sleep action or `sleep N`). */
export function preStopSeconds(container: Container): number {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds;
  const command = preStop?.exec?.command.join(' ') ?? '';
  return Number(/(?:^|\s|-c\s+)sleep\s+(\d+)/.exec(command)?.[1] ?? 0);
}

/** The names by which pods reach a Service in its namespace. */
export function serviceDnsNames(service: Service, clusterDomain = 'cluster.local'): string[] {
  const { name, namespace } = service.metadata;
  return [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.${clusterDomain}`];
}

export interface Rewrite {
  variable: string;
  from: string;
  to: string;
}

/**
 * Replaces the addresses of the chart's own Services in env values (`host:port`, or a URL
 * `http(s)://host[:port]` with the scheme's default port) by what `resolve` answers for
 * (Service, port); an address it answers undefined for stays. A bare name with no port and no
 * scheme is not an address and stays.
 */
export function rewriteServiceAddresses(
  env: Record<string, string>,
  services: Service[],
  resolve: (service: Service, port: number) => string | undefined,
): { env: Record<string, string>; rewrites: Rewrite[] } {
  const byName = new Map(services.flatMap((s) => serviceDnsNames(s).map((n) => [n, s] as const)));
  const rewrites: Rewrite[] = [];
  const rewritten = Object.fromEntries(
    Object.entries(env).map(([variable, value]) => [
      variable,
      value.replace(
        /(?<![\w.-])(https?:\/\/)?([a-z0-9][a-z0-9.-]*[a-z0-9])(?::(\d+))?(?![\w.-])/gi,
        (match, scheme: string | undefined, host: string, port: string | undefined) => {
          const service = byName.get(host.toLowerCase());
          if (!service || (scheme === undefined && port === undefined)) return match;
          const resolved = resolve(service, port !== undefined ? Number(port) : scheme?.toLowerCase() === 'https://' ? 443 : 80);
          if (resolved === undefined) return match;
          const to = `${scheme ?? ''}${resolved}`;
          rewrites.push({ variable, from: match, to });
          return to;
        },
      ),
    ]),
  );
  return { env: rewritten, rewrites };
}

const sanitize = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, '_');

/**
 * The target labels the Prometheus operator gives a ServiceMonitor endpoint's target
 * (its generated relabelling: namespace, service, pod, container, job, endpoint, targetLabels,
 * podTargetLabels), then the endpoint's own `relabelings`. Labels starting `__` are dropped
 * after relabelling, except the ones Prometheus reads (`__address__`, `__metrics_path__`, `__scheme__`).
 */
export function operatorTargetLabels(
  monitor: ServiceMonitor,
  endpoint: MonitorEndpoint,
  service: Service,
  pod: PodFacts,
  container: Container,
  address: string,
): Labels {
  const meta: Labels = {
    __address__: address,
    __metrics_path__: endpoint.path ?? '/metrics',
    __scheme__: endpoint.scheme ?? 'http',
    __meta_kubernetes_namespace: pod.namespace,
    __meta_kubernetes_service_name: service.metadata.name,
    __meta_kubernetes_pod_name: pod.name,
    __meta_kubernetes_pod_container_name: container.name,
    __meta_kubernetes_endpoint_port_name: endpoint.port ?? '',
    ...Object.fromEntries(
      Object.entries(service.metadata.labels ?? {}).map(([k, v]) => [`__meta_kubernetes_service_label_${sanitize(k)}`, v]),
    ),
    ...Object.fromEntries(Object.entries(pod.labels).map(([k, v]) => [`__meta_kubernetes_pod_label_${sanitize(k)}`, v])),
  };
  const labels: Labels = {
    ...meta,
    namespace: pod.namespace,
    service: service.metadata.name,
    pod: pod.name,
    container: container.name,
  };
  for (const name of monitor.spec.targetLabels ?? []) {
    const value = service.metadata.labels?.[name];
    if (value !== undefined) labels[sanitize(name)] = value;
  }
  for (const name of monitor.spec.podTargetLabels ?? []) {
    const value = pod.labels[name];
    if (value !== undefined) labels[sanitize(name)] = value;
  }
  labels.job = (monitor.spec.jobLabel ? service.metadata.labels?.[monitor.spec.jobLabel] : undefined) ?? service.metadata.name;
  if (endpoint.port) labels.endpoint = endpoint.port;
  const relabelled = relabel(labels, endpoint.relabelings ?? []);
  if (!relabelled) return {};
  return Object.fromEntries(
    Object.entries(relabelled).filter(
      ([k]) => !k.startsWith('__') || k === '__metrics_path__' || k === '__scheme__' || k === '__address__',
    ),
  );
}

/** Prometheus relabelling (replace, keep, drop, labelmap, labeldrop, labelkeep, lowercase, uppercase); undefined when dropped. */
export function relabel(labels: Labels, configs: RelabelConfig[]): Labels | undefined {
  let current = { ...labels };
  for (const config of configs) {
    const action = (config.action ?? 'replace').toLowerCase();
    const regex = new RegExp(`^(?:${config.regex ?? '(.*)'})$`);
    const source = (config.sourceLabels ?? []).map((l) => current[l] ?? '').join(config.separator ?? ';');
    const replacement = config.replacement ?? '$1';
    const expand = (match: RegExpExecArray) => replacement.replace(/\$\{?(\d+)\}?/g, (_, i: string) => match[Number(i)] ?? '');
    switch (action) {
      case 'replace': {
        const match = regex.exec(source);
        if (!match || !config.targetLabel) break;
        const value = expand(match);
        const { targetLabel } = config;
        current =
          value === ''
            ? Object.fromEntries(Object.entries(current).filter(([name]) => name !== targetLabel))
            : { ...current, [targetLabel]: value };
        break;
      }
      case 'keep':
        if (!regex.test(source)) return undefined;
        break;
      case 'drop':
        if (regex.test(source)) return undefined;
        break;
      case 'labelmap':
        for (const [name, value] of Object.entries(current)) {
          const match = regex.exec(name);
          if (match) current[expand(match)] = value;
        }
        break;
      case 'labeldrop':
        current = Object.fromEntries(Object.entries(current).filter(([name]) => !regex.test(name)));
        break;
      case 'labelkeep':
        current = Object.fromEntries(Object.entries(current).filter(([name]) => regex.test(name)));
        break;
      case 'lowercase':
      case 'uppercase':
        if (config.targetLabel) current[config.targetLabel] = action === 'lowercase' ? source.toLowerCase() : source.toUpperCase();
        break;
      default:
        throw new Error(`relabelling action ${action} is not emulated by the rehearsal`);
    }
  }
  return current;
}
