# syntax=docker/dockerfile:1
# list-send: one image for `serve`, `worker` and `sandbox` (the compose file picks the command).

# --- build: dev dependencies, TypeScript compile, then drop the dev dependencies -----------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are copied; the build runs below.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY queues ./queues
COPY processors ./processors
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts

# --- runtime: compiled code and production dependencies only, as the unprivileged `node` user ---
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
USER node
EXPOSE 3000
ENTRYPOINT ["node", "bin/list-send.js"]
CMD ["--help"]
