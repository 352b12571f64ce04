// Compiles apps/ and libs/ to dist/ with swc (type checking is `tsc --noEmit`, run separately).
import { transformFile } from '@swc/core';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const { root, swcOptions } = require('./swc-options.cjs');

const SOURCE_DIRS = ['apps', 'libs'];
const isSource = (f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !/\.(spec|integration-spec)\.ts$/.test(f);

async function* walk(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (isSource(entry.name)) yield full;
  }
}

export async function build() {
  const started = performance.now();
  const outDir = path.join(root, 'dist');
  await rm(outDir, { recursive: true, force: true });
  let count = 0;
  for (const dir of SOURCE_DIRS) {
    for await (const file of walk(path.join(root, dir))) {
      const rel = path.relative(root, file);
      const target = path.join(outDir, rel.replace(/\.ts$/, '.js'));
      const output = await transformFile(file, {
        ...swcOptions(),
        filename: file,
        sourceFileName: path.relative(path.dirname(target), file),
      });
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, `${output.code}\n//# sourceMappingURL=${path.basename(target)}.map\n`);
      if (output.map) await writeFile(`${target}.map`, output.map);
      count += 1;
    }
  }
  return { files: count, ms: Math.round(performance.now() - started) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { files, ms } = await build();
  console.log(`build: ${files} files compiled to dist/ in ${ms} ms`);
}
