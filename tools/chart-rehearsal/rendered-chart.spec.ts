import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  containerPortOf,
  expandReferences,
  findHelm,
  matchesSelector,
  nodeCommandLine,
  operatorTargetLabels,
  parseDuration,
  parseQuantity,
  relabel,
  RenderedChart,
  rewriteServiceAddresses,
  type Container,
  type PodFacts,
  type Service,
  type ServiceMonitor,
} from './rendered-chart';

const NAMESPACE = 'shop';
const selector = { 'app.kubernetes.io/component': 'orders' };

/** A rendered chart of one orders Deployment, its Service, ConfigMap, Secret and hook Jobs. */
function renderedChart({ targetPort = 'http' }: { targetPort?: number | string } = {}): RenderedChart {
  return RenderedChart.parse(
    `
apiVersion: v1
kind: ConfigMap
metadata: {name: orders}
data: {LOG_LEVEL: info, DATABASE_HOST: db}
---
apiVersion: v1
kind: Secret
metadata: {name: orders}
data: {DATABASE_PASSWORD: ${Buffer.from('from-data').toString('base64')}, TOKEN: ${Buffer.from('old').toString('base64')}}
stringData: {TOKEN: new}
---
# Source: keelson/templates/services.yaml
apiVersion: v1
kind: Service
metadata: {name: orders, labels: {team: shop}}
spec:
  selector: ${JSON.stringify(selector)}
  ports: [{name: http, port: 80, targetPort: ${JSON.stringify(targetPort)}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: orders}
spec:
  selector: {matchLabels: ${JSON.stringify(selector)}}
  template:
    metadata: {labels: ${JSON.stringify(selector)}}
    spec:
      containers:
        - name: orders
          command: [node, dist/apps/orders/src/main.js]
          ports: [{name: http, containerPort: 3002}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: b-migrate, annotations: {helm.sh/hook: "pre-install,pre-upgrade", helm.sh/hook-weight: "5"}}
spec: {template: {spec: {containers: []}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: a-migrate, annotations: {helm.sh/hook: "pre-upgrade, pre-install", helm.sh/hook-weight: "-1"}}
spec: {template: {spec: {containers: []}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: smoke, annotations: {helm.sh/hook: post-install}}
spec: {template: {spec: {containers: []}}}
`,
    NAMESPACE,
  );
}

const pod = (overrides: Partial<PodFacts> = {}): PodFacts => ({
  name: 'orders-abc',
  namespace: NAMESPACE,
  podIP: '10.0.0.7',
  hostIP: '10.0.0.1',
  nodeName: 'node-1',
  labels: selector,
  annotations: {},
  serviceAccountName: 'orders',
  ...overrides,
});

const container = (overrides: Partial<Container> = {}): Container => ({
  name: 'orders',
  ports: [{ name: 'http', containerPort: 3002 }],
  ...overrides,
});

describe('RenderedChart', () => {
  it('reads every document into objects in the release namespace', () => {
    const sut = renderedChart();
    expect(sut.deployments.map((d) => d.metadata.name)).toEqual(['orders']);
    expect(sut.services[0]?.metadata.namespace).toBe(NAMESPACE);
  });

  it('orders hook Jobs of a phase by weight, leaving other phases out', () => {
    expect(
      renderedChart()
        .hookJobs('pre-install')
        .map((j) => j.metadata.name),
    ).toEqual(['a-migrate', 'b-migrate']);
  });

  it('decodes Secret data, with stringData winning as the API server merges it', () => {
    expect(renderedChart().data('Secret', 'orders')).toEqual({ DATABASE_PASSWORD: 'from-data', TOKEN: 'new' });
    expect(renderedChart().data('ConfigMap', 'missing')).toBeUndefined();
  });

  describe('containerEnv', () => {
    it('applies envFrom first, then env, resolving references and expanding $(VAR)', () => {
      const sut = renderedChart();
      const env = sut.containerEnv(
        container({
          envFrom: [{ configMapRef: { name: 'orders' } }, { prefix: 'S_', secretRef: { name: 'orders' } }],
          env: [
            { name: 'LOG_LEVEL', value: 'debug' },
            { name: 'DATABASE_PASSWORD', valueFrom: { secretKeyRef: { name: 'orders', key: 'DATABASE_PASSWORD' } } },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'KAFKA_CLIENT_ID', value: '$(POD_NAME)-$(UNDEFINED)-$$(POD_NAME)' },
            { name: 'ZONE', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app.kubernetes.io/component']" } } },
          ],
        }),
        pod(),
      );
      expect(env).toEqual({
        LOG_LEVEL: 'debug',
        DATABASE_HOST: 'db',
        S_DATABASE_PASSWORD: 'from-data',
        S_TOKEN: 'new',
        DATABASE_PASSWORD: 'from-data',
        POD_NAME: 'orders-abc',
        KAFKA_CLIENT_ID: 'orders-abc-$(UNDEFINED)-$(POD_NAME)',
        ZONE: 'orders',
      });
    });

    it('fails on a reference to a key or object the chart does not render, unless optional', () => {
      const sut = renderedChart();
      const missingKey = { name: 'DATABASE_PASSWORD', valueFrom: { secretKeyRef: { name: 'orders', key: 'password' } } };
      expect(() => sut.containerEnv(container({ env: [missingKey] }), pod())).toThrow(/key "password" of Secret orders/);
      expect(() => sut.containerEnv(container({ envFrom: [{ configMapRef: { name: 'nope' } }] }), pod())).toThrow(/ConfigMap nope/);
      const optional = { ...missingKey, valueFrom: { secretKeyRef: { ...missingKey.valueFrom.secretKeyRef, optional: true } } };
      expect(sut.containerEnv(container({ env: [optional], envFrom: [{ secretRef: { name: 'nope', optional: true } }] }), pod())).toEqual(
        {},
      );
    });

    it('divides a resource limit by its divisor, rounding up', () => {
      const env = renderedChart().containerEnv(
        container({
          resources: { limits: { memory: '512Mi', cpu: '1500m' } },
          env: [
            { name: 'MEMORY_MB', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
            { name: 'CPUS', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
          ],
        }),
        pod(),
      );
      expect(env).toEqual({ MEMORY_MB: '512', CPUS: '2' });
      expect(parseQuantity('2Gi')).toBe(2 ** 31);
    });
  });

  describe('ports', () => {
    it('resolves a probe port by name or number', () => {
      expect(containerPortOf(container(), 'http')).toBe(3002);
      expect(containerPortOf(container(), 9000)).toBe(9000);
      expect(() => containerPortOf(container(), 'metrics')).toThrow(/no port named "metrics"/);
    });

    it('follows a Service port to the container port of the pods it selects', () => {
      const sut = renderedChart();
      const service = sut.services[0]!;
      expect(sut.resolveServicePort(service, 80)).toMatchObject({ containerPort: 3002, deployment: { metadata: { name: 'orders' } } });
      expect(() => sut.resolveServicePort(service, 3002)).toThrow(/has no port 3002/);
      expect(
        renderedChart({ targetPort: 3010 }).resolveServicePort(renderedChart({ targetPort: 3010 }).services[0]!, 80).containerPort,
      ).toBe(3010);
      const unnamed = renderedChart({ targetPort: 'web' });
      expect(() => unnamed.resolveServicePort(unnamed.services[0]!, 80)).toThrow(/targets port "web", which no container/);
    });
  });

  it('matches label selectors with expressions', () => {
    const labels = { tier: 'api', team: 'shop' };
    expect(
      matchesSelector({ matchLabels: { tier: 'api' }, matchExpressions: [{ key: 'team', operator: 'In', values: ['shop'] }] }, labels),
    ).toBe(true);
    expect(matchesSelector({ matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] }, labels)).toBe(false);
    expect(matchesSelector({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, labels)).toBe(true);
  });
});

describe('rewriteServiceAddresses', () => {
  const services = renderedChart().services;
  const sut = (env: Record<string, string>) =>
    rewriteServiceAddresses(env, services, (_, port) => (port === 80 ? '127.0.0.1:4242' : undefined));

  it('rewrites every DNS form of a chart Service, as host:port or URL, and nothing else', () => {
    const { env, rewrites } = sut({
      A: 'http://orders.shop.svc.cluster.local:80/api/v1/orders/{id},http://orders.shop.svc:80/x',
      B: 'orders:80',
      C: 'https://orders.shop',
      D: 'orders', // a bare name is no address
      E: 'http://orders-replica:80,http://db.orders:80',
      F: 'orders.shop:3002', // a port the Service does not have: left for the caller to report
    });
    expect(env).toEqual({
      A: 'http://127.0.0.1:4242/api/v1/orders/{id},http://127.0.0.1:4242/x',
      B: '127.0.0.1:4242',
      C: 'https://orders.shop',
      D: 'orders',
      E: 'http://orders-replica:80,http://db.orders:80',
      F: 'orders.shop:3002',
    });
    expect(rewrites.map((r) => r.variable)).toEqual(['A', 'A', 'B']);
  });

  it('gives a URL without a port its scheme’s default port', () => {
    expect(sut({ U: 'http://orders/health' }).env.U).toBe('http://127.0.0.1:4242/health');
  });
});

describe('nodeCommandLine', () => {
  it('maps the image’s dist/ script onto this build and keeps flags and commands', () => {
    const sut = nodeCommandLine(
      container({ command: ['/usr/local/bin/node', '--enable-source-maps'], args: ['/app/dist/apps/orders/src/main.js', '$(COMMAND)'] }),
      '/repo/dist',
      { COMMAND: 'migrate' },
    );
    expect(sut).toEqual({ service: 'orders', args: ['--enable-source-maps', '/repo/dist/apps/orders/src/main.js', 'migrate'] });
  });

  it('refuses what it cannot run here', () => {
    expect(() => nodeCommandLine(container({ command: ['sh', '-c', 'node dist/apps/orders/src/main.js'] }), '/d', {})).toThrow(
      /the rehearsal runs `node dist/,
    );
    expect(() => nodeCommandLine(container({ command: ['node', 'server.js'] }), '/d', {})).toThrow(/no dist\/apps/);
    expect(() => nodeCommandLine(container({}), '/d', {})).toThrow(/runs \[\]/);
  });
});

describe('operator target labels', () => {
  const service: Service = renderedChart().services[0]!;
  const monitor = (spec: Partial<ServiceMonitor['spec']> = {}): ServiceMonitor => ({
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: 'orders', namespace: NAMESPACE },
    spec: { selector: { matchLabels: { team: 'shop' } }, endpoints: [], ...spec },
  });

  it('labels a target with namespace, service, pod, container, job and endpoint, and Prometheus’s own settings', () => {
    expect(operatorTargetLabels(monitor(), { port: 'http', path: '/m' }, service, pod(), container(), '10.0.0.7:3002')).toEqual({
      __address__: '10.0.0.7:3002',
      __metrics_path__: '/m',
      __scheme__: 'http',
      namespace: NAMESPACE,
      service: 'orders',
      pod: 'orders-abc',
      container: 'orders',
      job: 'orders',
      endpoint: 'http',
    });
  });

  it('takes job from jobLabel, copies targetLabels, then applies the endpoint’s relabelings', () => {
    const labels = operatorTargetLabels(
      monitor({ jobLabel: 'team', targetLabels: ['team'] }),
      {
        port: 'http',
        relabelings: [
          { sourceLabels: ['__meta_kubernetes_pod_label_app_kubernetes_io_component'], targetLabel: 'service', replacement: 'svc-$1' },
          { action: 'labeldrop', regex: 'container|endpoint' },
        ],
      },
      service,
      pod(),
      container(),
      'a:1',
    );
    expect(labels).toMatchObject({ job: 'shop', team: 'shop', service: 'svc-orders' });
    expect(labels).not.toHaveProperty('container');
    expect(labels).not.toHaveProperty('endpoint');
  });

  it('relabels with keep, drop and labelmap as Prometheus does', () => {
    expect(relabel({ a: 'x' }, [{ action: 'keep', sourceLabels: ['a'], regex: 'y' }])).toBeUndefined();
    expect(relabel({ a: 'x' }, [{ action: 'drop', sourceLabels: ['a'], regex: 'x|z' }])).toBeUndefined();
    expect(relabel({ __meta_x_y: 'v' }, [{ action: 'labelmap', regex: '__meta_x_(.+)' }])).toEqual({ __meta_x_y: 'v', y: 'v' });
    expect(relabel({ a: 'x', b: 'y' }, [{ sourceLabels: ['a', 'b'], separator: '-', targetLabel: 'c', replacement: '${1}!' }])).toEqual({
      a: 'x',
      b: 'y',
      c: 'x-y!',
    });
  });
});

describe('findHelm', () => {
  let dir: string;
  const executable = (file: string) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, '#!/bin/sh\n');
    chmodSync(file, 0o755);
    return file;
  };
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'find-helm-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('prefers $HELM, then <repo>/.tools/bin/helm, then PATH', () => {
    const onPath = executable(path.join(dir, 'bin/helm'));
    expect(findHelm(path.join(dir, 'repo'), { PATH: path.join(dir, 'bin') })).toBe(onPath);
    const installed = executable(path.join(dir, 'repo/.tools/bin/helm'));
    expect(findHelm(path.join(dir, 'repo'), { PATH: path.join(dir, 'bin') })).toBe(installed);
    const chosen = executable(path.join(dir, 'mine/helm'));
    expect(findHelm(path.join(dir, 'repo'), { HELM: chosen, PATH: path.join(dir, 'bin') })).toBe(chosen);
  });

  it('says how to get helm when there is none', () => {
    expect(() => findHelm(path.join(dir, 'repo'), { PATH: '' })).toThrow(/helm not found: set HELM=.*tools\/k8s\/tools\.sh/);
    expect(() => findHelm(path.join(dir, 'repo'), { HELM: '/no/helm', PATH: '' })).toThrow(/HELM=\/no\/helm does not exist/);
  });
});

it('reads Prometheus durations', () => {
  expect(parseDuration('1m30s')).toBe(90_000);
  expect(parseDuration('250ms')).toBe(250);
  expect(() => parseDuration('15')).toThrow(/not a Prometheus duration/);
});

it('expands $(VAR) only for defined names', () => {
  expect(expandReferences('$(A)/$(B)/$$', { A: '1' })).toBe('1/$(B)/$');
});
