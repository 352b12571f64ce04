import {
  alertStates,
  IN_NAMESPACE,
  keelsonDashboard,
  notes,
  query,
  SERVICES,
  stat,
  timeSeries,
  variables,
  type DashboardModel,
} from '../conventions';

// kube-state-metrics series (cluster only). The chart names each HPA after its Deployment and
// each container after its service.
const DEPLOYMENT = `${IN_NAMESPACE}, deployment=~"$deployment"`;
const HPA = `${IN_NAMESPACE}, horizontalpodautoscaler=~"$deployment"`;
const CONTAINERS = `${IN_NAMESPACE}, container=~"${SERVICES.join('|')}"`;
const ALERTS = ['PodRestarting', 'ScrapeTargetDown'] as const;

/** Replicas against the autoscalers’ bounds, restarts, and which processes Prometheus sees. */
export function podsDashboard(): DashboardModel {
  return keelsonDashboard({
    uid: 'keelson-pods',
    title: 'Keelson / Pods and autoscaling',
    description: 'Deployment replicas against HPA bounds, unavailable replicas, restarts, and the service processes Prometheus scrapes.',
    tags: ['kubernetes'],
    variables: [variables.namespace(), variables.deployment()],
    rows: [
      {
        title: 'Autoscaling',
        panels: [
          timeSeries({
            title: 'Replicas against HPA bounds',
            description:
              'Replicas per Deployment with its HPA’s minimum and maximum. Sitting at the maximum means the HPA wants more than it may have.',
            unit: 'short',
            width: 16,
            queries: [
              query(`sum by (deployment) (kube_deployment_status_replicas{${DEPLOYMENT}})`, '{{deployment}} replicas'),
              query(
                `max by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_spec_max_replicas{${HPA}})`,
                '{{horizontalpodautoscaler}} max',
              ),
              query(
                `max by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_spec_min_replicas{${HPA}})`,
                '{{horizontalpodautoscaler}} min',
              ),
            ],
          }),
          stat({
            title: 'Autoscalers at their maximum',
            description: 'HPAs whose current replicas reached their maximum: add headroom or find what is slow.',
            unit: 'none',
            width: 8,
            height: 8,
            queries: [
              query(
                `count(max by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_current_replicas{${HPA}}) >= max by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_spec_max_replicas{${HPA}}))`,
                'at max',
                true,
              ),
            ],
            thresholds: [
              { value: null, color: 'green' },
              { value: 1, color: 'orange' },
            ],
            noValue: '0',
          }),
          timeSeries({
            title: 'HPA desired and current replicas',
            description: 'What each HPA computed from its metrics, and what it has.',
            unit: 'short',
            queries: [
              query(
                `max by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_desired_replicas{${HPA}})`,
                '{{horizontalpodautoscaler}} desired',
              ),
              query(
                `max by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_current_replicas{${HPA}})`,
                '{{horizontalpodautoscaler}} current',
              ),
            ],
          }),
          timeSeries({
            title: 'Unavailable replicas',
            description: 'Replicas per Deployment that are not available (starting, failing readiness, or unscheduled).',
            unit: 'short',
            queries: [query(`sum by (deployment) (kube_deployment_status_replicas_unavailable{${DEPLOYMENT}})`, '{{deployment}}')],
          }),
        ],
      },
      {
        title: 'Restarts and scrapes',
        panels: [
          timeSeries({
            title: 'Container restarts (1 h)',
            description: 'Restarts per service container over the last hour. PodRestarting opens a ticket above 2 in 30 minutes.',
            unit: 'short',
            width: 8,
            queries: [query(`sum by (container) (increase(kube_pod_container_status_restarts_total{${CONTAINERS}}[1h]))`, '{{container}}')],
            runbooks: ['PodRestarting'],
          }),
          timeSeries({
            title: 'Processes by service',
            description: 'Service processes Prometheus scrapes, from their own metrics: works with or without Kubernetes.',
            unit: 'short',
            width: 8,
            queries: [query(`count by (service) (process_start_time_seconds{${IN_NAMESPACE}})`, '{{service}}')],
          }),
          timeSeries({
            title: 'Process restarts seen',
            description: 'New process start times per service over the time range: restarts, rollouts and scale-ups.',
            unit: 'short',
            width: 8,
            queries: [query(`sum by (service) (changes(process_start_time_seconds{${IN_NAMESPACE}}[$__range]))`, '{{service}}')],
          }),
          stat({
            title: 'Scrape targets up',
            description: 'Targets Prometheus scraped successfully, and all targets, in the namespace.',
            unit: 'none',
            width: 8,
            queries: [query(`sum(up{${IN_NAMESPACE}})`, 'up'), query(`count(up{${IN_NAMESPACE}})`, 'targets')],
            runbooks: ['ScrapeTargetDown'],
          }),
        ],
      },
      {
        title: 'Alerts',
        panels: [
          alertStates({ alerts: ALERTS, by: ['namespace', 'container'] }),
          notes({
            markdown: 'The Kubernetes panels read kube-state-metrics, which runs in the cluster only; the process panels work anywhere.',
            runbooks: ALERTS,
          }),
        ],
      },
    ],
  });
}
