// Proves the Nx module-boundary rule forbids what the architecture forbids, by linting
// probe files with the real ESLint CLI and config (as `npm test` does).
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const root = path.resolve(__dirname, '../..');
const run = promisify(execFile);

interface EslintResult {
  filePath: string;
  messages: { ruleId: string | null; message: string }[];
}

const probes = {
  // a util library reaching into a data-access library
  utilImportsDataAccess: ['libs/observability/src/lib/boundary-probe.ts', "export { runMigrations } from '@keelson/database';\n"],
  // one service's code reaching into another service
  appImportsApp: ['apps/orders/src/boundary-probe.ts', "export { configSchema } from '../../gateway/src/config';\n"],
  // production code using the test helpers
  featureImportsTesting: ['libs/runtime/src/lib/boundary-probe.ts', "export { waitFor } from '@keelson/testing';\n"],
  // allowed: an app using a feature library through its front door
  appImportsFeature: ['apps/orders/src/boundary-probe-ok.ts', "export { runService } from '@keelson/runtime';\n"],
} as const;

describe('module boundaries', () => {
  let results: Map<string, EslintResult>;

  beforeAll(async () => {
    for (const [file, source] of Object.values(probes)) writeFileSync(path.join(root, file), source);
    try {
      const files = Object.values(probes).map(([file]) => file);
      const { stdout } = await run(path.join(root, 'node_modules/.bin/eslint'), ['--format', 'json', '--no-warn-ignored', ...files], {
        cwd: root,
        env: { ...process.env, NX_DAEMON: 'false' },
      }).catch((error: unknown) => ({ stdout: (error as { stdout?: string }).stdout ?? '[]' }));
      const parsed = JSON.parse(stdout) as EslintResult[];
      results = new Map(parsed.map((r) => [path.relative(root, r.filePath), r]));
    } finally {
      for (const [file] of Object.values(probes)) rmSync(path.join(root, file), { force: true });
    }
  }, 120_000);

  const boundaryErrors = (probe: keyof typeof probes) =>
    (results.get(probes[probe][0])?.messages ?? []).filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message);

  it('forbids a util library from importing a data-access library', () => {
    expect(boundaryErrors('utilImportsDataAccess')).toEqual([
      expect.stringContaining('"type:util" can only depend on libs tagged with "type:util"'),
    ]);
  });

  it('forbids a service from importing another service', () => {
    expect(boundaryErrors('appImportsApp')).toEqual([expect.stringContaining('relative or absolute path')]);
  });

  it('forbids production code from importing the testing library', () => {
    expect(boundaryErrors('featureImportsTesting')).toEqual([expect.stringContaining('"type:feature" can only depend on')]);
  });

  it('allows an app to use a feature library through its front door', () => {
    expect(results.has(probes.appImportsFeature[0])).toBe(true);
    expect(boundaryErrors('appImportsFeature')).toEqual([]);
  });
});
