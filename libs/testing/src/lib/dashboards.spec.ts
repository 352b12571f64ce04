import { labelValuesQuery, metricNames, panelQueries, substituteVariables, variablesIn } from './dashboards';

describe('metricNames', () => {
  it.each<[string, string[]]>([
    ['up', ['up']],
    [
      'sum by (service) (rate(http_server_request_duration_seconds_count{service=~"$service"}[$__rate_interval]))',
      ['http_server_request_duration_seconds_count'],
    ],
    [
      'histogram_quantile(0.95, sum by (service, le) (rate(http_server_request_duration_seconds_bucket{route!~"/health/.+|/metrics"}[5m])))',
      ['http_server_request_duration_seconds_bucket'],
    ],
    [
      'max by (sloth_service, sloth_slo) (slo:sli_error:ratio_rate1h{sloth_slo=~"$slo"}) / on (sloth_service, sloth_slo) group_left max by (sloth_service, sloth_slo) (slo:error_budget:ratio)',
      ['slo:sli_error:ratio_rate1h', 'slo:error_budget:ratio'],
    ],
    ['(sum(rate(a_total{x="1e3 or b"}[1m])) or 0 * sum(rate(b_total[1m]))) / 1e3', ['a_total', 'b_total']],
    ['max by (alertname) (ALERTS{alertstate="firing"}) * 2 or vector(0) offset 5m', ['ALERTS']],
    ['count(kube_hpa_current >= kube_hpa_max) and bool 1', ['kube_hpa_current', 'kube_hpa_max']],
  ])('%s selects %j', (expr, names) => {
    expect(metricNames(expr)).toEqual(names);
  });
});

describe('substituteVariables', () => {
  it('replaces every syntax Grafana accepts', () => {
    const sut = substituteVariables('a{ns=~"$namespace", s=~"${service}", x=~"${service:regex}", y="[[slo]]"}[$__rate_interval]', {
      namespace: 'n1',
      service: '.*',
      slo: 'availability',
      __rate_interval: '1m',
    });
    expect(sut).toBe('a{ns=~"n1", s=~".*", x=~".*", y="availability"}[1m]');
  });

  it('refuses a variable it has no value for', () => {
    expect(() => substituteVariables('a{ns=~"$namespace", s=~"$servce"}', { namespace: 'n1' })).toThrow(/\$servce/);
  });

  it('lists the variables a query uses', () => {
    expect(variablesIn('a{ns=~"$namespace"}[$__rate_interval] / b{n=~"${namespace}"}')).toEqual(['namespace', '__rate_interval']);
  });
});

describe('labelValuesQuery', () => {
  it('turns label_values(selector, label) into a query Prometheus answers with one series per value', () => {
    expect(labelValuesQuery('label_values(process_start_time_seconds{namespace=~"$namespace"}, service)')).toBe(
      'group by (service) (process_start_time_seconds{namespace=~"$namespace"})',
    );
    expect(labelValuesQuery('query_result(up)')).toBeUndefined();
  });
});

describe('panelQueries', () => {
  it('reads the queries of panels inside collapsed rows too, and leaves text panels out', () => {
    const sut = panelQueries({
      uid: 'd',
      panels: [
        { type: 'timeseries', title: 'top', targets: [{ refId: 'A', expr: 'up' }] },
        { type: 'row', title: 'r', panels: [{ type: 'stat', title: 'inner', targets: [{ refId: 'B', expr: 'down' }] }] },
        { type: 'text', title: 'notes', options: { content: 'hello' } },
      ],
    });
    expect(sut).toEqual([
      { dashboard: 'd', panel: 'top', refId: 'A', expr: 'up' },
      { dashboard: 'd', panel: 'inner', refId: 'B', expr: 'down' },
    ]);
  });
});
