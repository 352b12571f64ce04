// Copies the rule files and dashboards the chart ships into charts/keelson/files/: Helm's .Files
// only sees files inside the chart. The sources stay prometheus/ and grafana/; the unit spec
// tools/chart/chart.spec.ts fails when a copy differs. Why copies and not a symlink: ADR 0014.
//   node tools/chart/sync-files.mjs          write the copies (and remove stale ones)
//   node tools/chart/sync-files.mjs --check  write nothing; exit 1 when a copy is missing, stale or extra
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Source folder → copy folder, and which files. */
const SYNCED = [
  { from: 'prometheus', to: 'charts/keelson/files/prometheus', suffix: '.rules.yml' },
  { from: 'grafana', to: 'charts/keelson/files/grafana', suffix: '.json' },
];

const list = (dir, suffix) => {
  try {
    return readdirSync(path.join(root, dir))
      .filter((f) => f.endsWith(suffix))
      .sort();
  } catch {
    return [];
  }
};

/** The differences between sources and copies, one line each. */
function drift() {
  const problems = [];
  for (const { from, to, suffix } of SYNCED) {
    const sources = list(from, suffix);
    const copies = new Set(list(to, suffix));
    for (const file of sources) {
      if (!copies.has(file)) problems.push(`${to}/${file} is missing`);
      else if (readFileSync(path.join(root, to, file), 'utf8') !== readFileSync(path.join(root, from, file), 'utf8'))
        problems.push(`${to}/${file} differs from ${from}/${file}`);
      copies.delete(file);
    }
    for (const file of copies) problems.push(`${to}/${file} has no source in ${from}/`);
  }
  return problems;
}

function sync() {
  for (const { from, to, suffix } of SYNCED) {
    mkdirSync(path.join(root, to), { recursive: true });
    const sources = list(from, suffix);
    for (const file of list(to, suffix)) if (!sources.includes(file)) rmSync(path.join(root, to, file));
    for (const file of sources) writeFileSync(path.join(root, to, file), readFileSync(path.join(root, from, file)));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    const problems = drift();
    for (const p of problems) console.error(p);
    if (problems.length > 0) console.error('run: node tools/chart/sync-files.mjs');
    process.exit(problems.length > 0 ? 1 : 0);
  }
  sync();
  console.log(`synced ${SYNCED.map((s) => `${s.from}/*${s.suffix} → ${s.to}/`).join(', ')}`);
}
