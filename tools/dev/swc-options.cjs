// One source of truth for path aliases: tsconfig.base.json. The build and Jest both
// derive their swc options from it, so an alias is declared exactly once.
const path = require('node:path');
const tsconfig = require('../../tsconfig.base.json');

const root = path.resolve(__dirname, '../..');

/** swc options for compiling the workspace to CommonJS with Nest-style decorators. */
function swcOptions({ sourceMaps = true } = {}) {
  return {
    sourceMaps,
    module: { type: 'commonjs' },
    jsc: {
      target: 'es2023',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      keepClassNames: true,
      baseUrl: root,
      paths: tsconfig.compilerOptions.paths,
    },
  };
}

module.exports = { root, swcOptions, paths: tsconfig.compilerOptions.paths };
