# syntax=docker/dockerfile:1
# The edgeship serving image the GitOps templates run (ghcr.io/edgeship/edgeship-serving), for
# amd64 clouds and arm64 Jetson-class gateways:
#   docker buildx build --platform linux/amd64,linux/arm64 -t ghcr.io/edgeship/edgeship-serving:1 --push .
# onnxruntime-node ships CPU binaries for both; ONNXRUNTIME_NODE_INSTALL=skip skips its CUDA download.
# The same image runs `edgeship serve` (the default), `edgeship cloud-run` (training Jobs) and the
# GitHub App itself (`node dist/app/server.js`, as templates/app's Deployment runs it).

# TypeScript is compiled once, on the build machine's own platform.
FROM --platform=$BUILDPLATFORM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc tsconfig.json ./
COPY .config ./.config
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
RUN npm run build

# Runtime dependencies are installed for the target platform (native ONNX Runtime binaries).
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
# `edgeship` on PATH: training images built FROM this one run `edgeship cloud-run` as a Job.
RUN chmod +x dist/cli/main.js && ln -s /app/dist/cli/main.js /usr/local/bin/edgeship
USER node
EXPOSE 8080
# Kubernetes sends SIGTERM: the server stops taking connections and finishes requests in flight.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve", "--port", "8080"]
