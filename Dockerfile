# syntax=docker/dockerfile:1
# Node 24, the LTS line .ci/run tests on and the single binary is built with (package.json engines).
# Build stage: dependencies first (their layer is reused while only sources change), then compile.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY proto ./proto
COPY scripts/bundle-server.mjs ./scripts/
RUN npm run build && npm prune --omit=dev

# Runtime stage: production dependencies, compiled code and the proto contract; runs as a non-root user.
FROM node:24-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends redis-server tini \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production HOST=0.0.0.0 HTTP_PORT=3000 GRPC_PORT=50051
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
COPY --chown=node:node proto ./proto
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000 50051
ENTRYPOINT ["/usr/bin/tini", "--"]
# The server by default; the same image runs a standalone worker with the command `node dist/worker.js`
# (docker-compose.yml's worker service).
CMD ["node", "dist/server.js"]
