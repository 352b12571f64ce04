# One image for all six services. The chart picks the service with the container's command:
#   node dist/apps/<service>/src/main.js            serve (the gateway by default)
#   node dist/apps/<service>/src/main.js migrate    the migration hook Job
# Built only in the kind workflow (.github/workflows/kind.yml, k8s/up.sh); hadolint checks it in
# every `npm test` (tools/k8s/check.sh).
ARG NODE_IMAGE=node:24.19.0-trixie-slim

# Build: all dependencies, swc to dist/, then the production dependencies in /prod.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.base.json ./
COPY tools/dev/build.mjs tools/dev/swc-options.cjs ./tools/dev/
COPY apps ./apps
COPY libs ./libs
RUN node tools/dev/build.mjs
# Production dependencies only. --ignore-scripts: the only install scripts there are the root's
# postinstall (patch-package, a devDependency: run here from the build's node_modules, so the
# kafkajs patch is applied) and @scarf/scarf's install telemetry.
WORKDIR /prod
RUN cp /app/package.json /app/package-lock.json ./ \
  && cp -r /app/patches ./patches \
  && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error \
  && /app/node_modules/.bin/patch-package --error-on-fail \
  && rm -rf patches

# Runtime: Node 24, dist/ and production dependencies, a numeric non-root user, no shell used
# (the base image's entrypoint script is dropped; npm, npx, corepack and yarn are removed).
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
  /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* /usr/local/bin/docker-entrypoint.sh
WORKDIR /app
COPY --from=build /prod/package.json ./
COPY --from=build /prod/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# A numeric uid/gid above 10000 that no host user has; the chart's securityContext runs as the same.
USER 10001:10001
EXPOSE 8080 3001 3002 3003 3004 3005
ENTRYPOINT []
CMD ["node", "dist/apps/gateway/src/main.js"]
