// grafana/*.json is generated from tools/grafana/ and committed (the chart provisions the
// files). This fails when one was edited without the other: run `node tools/grafana/build.mjs`.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { generateDashboards } from './dashboards';

const grafanaDir = path.resolve(__dirname, '../../grafana');

describe('grafana/*.json', () => {
  const generated = generateDashboards();

  it('holds exactly the dashboards tools/grafana generates', () => {
    const committed = readdirSync(grafanaDir).filter((f) => f.endsWith('.json'));
    expect(committed.sort()).toEqual(generated.map((d) => d.file).sort());
  });

  it.each(generated.map((d) => [d.file, d.json] as const))('%s is what its source generates', (file, json) => {
    // Compared as text, so formatting drift fails too; the parsed diff is easier to read.
    const committed = readFileSync(path.join(grafanaDir, file), 'utf8');
    if (committed !== json) expect(JSON.parse(committed)).toEqual(JSON.parse(json));
    expect(committed).toBe(json);
  });

  it('generates the same JSON every time (no dates, random ids or ordering from the environment)', () => {
    expect(generateDashboards().map((d) => d.json)).toEqual(generated.map((d) => d.json));
  });
});
