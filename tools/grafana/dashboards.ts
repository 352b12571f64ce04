import type { DashboardModel } from './conventions';
import { authDashboard } from './dashboards/auth';
import { cacheDashboard } from './dashboards/cache';
import { gatewayDashboard } from './dashboards/gateway';
import { kafkaDashboard } from './dashboards/kafka';
import { overviewDashboard } from './dashboards/overview';
import { podsDashboard } from './dashboards/pods';
import { replayDashboard } from './dashboards/replay';
import { slosDashboard } from './dashboards/slos';

export interface GeneratedDashboard {
  /** Path below grafana/: the uid without its `keelson-` prefix. */
  file: string;
  dashboard: DashboardModel;
  /** The file's exact contents. */
  json: string;
}

/** Every Keelson dashboard, in the order the dashboard list shows them. */
export function generateDashboards(): GeneratedDashboard[] {
  return [
    overviewDashboard(),
    slosDashboard(),
    gatewayDashboard(),
    authDashboard(),
    kafkaDashboard(),
    cacheDashboard(),
    replayDashboard(),
    podsDashboard(),
  ].map((dashboard) => ({
    file: `${(dashboard.uid ?? '').replace(/^keelson-/, '')}.json`,
    dashboard,
    json: `${JSON.stringify(dashboard, null, 2)}\n`,
  }));
}
