# cldl worker image: Node.js 24 on Debian slim, runs as the unprivileged `node` user.
#   docker build -t cldl .
#   docker run -e REDIS_URL=… -e VCENTER_URL=… -e VCENTER_USERNAME=… -e VCENTER_PASSWORD_FILE=/run/secrets/vc cldl

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the image's own Node 24 builds it; the `node` devDependency is for dev machines.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config/default.json ./config/default.json
RUN mkdir -p /downloads && chown node:node /downloads
USER node
# Health and metrics must be reachable from outside the container; /downloads needs CLDL_HTTP_TOKEN.
ENV CLDL_DOWNLOAD_ROOT=/downloads CLDL_HTTP_HOST=0.0.0.0 CLDL_LOG_PRETTY=never
VOLUME ["/downloads"]
EXPOSE 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM starts the graceful shutdown: give it the grace period (30 s) plus some (docker stop -t 45).
STOPSIGNAL SIGTERM
# `cldl worker` re-executes itself in place (still PID 1) with its Node flags: src/service/node-flags.ts.
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["worker"]
