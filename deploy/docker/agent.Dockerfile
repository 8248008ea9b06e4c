# syntax=docker/dockerfile:1
#
# Flowlens images, built from the repository root:
#   agent         (default)  `flowlens-agent node` (DaemonSet) and `flowlens-agent hub` (Deployment)
#   demo                     the demo services (demo/src) for the compose walkthrough
#   cluster-tool             one-shot tool that creates the kind cluster and installs everything
#
#   docker build -f deploy/docker/agent.Dockerfile -t flowlens/agent:dev .
#
# Everything is fetched at build time from pinned sources (exact base image tags, Debian packages,
# the npm lockfile, versioned release binaries checked against their published checksums);
# nothing is downloaded when a container starts.
#
# The BPF objects are CO-RE and built here, in the build stage, with the image's own clang, libbpf
# and bpftool against the committed agent/bpf/vmlinux/<arch>/vmlinux.h: no kernel BTF and no BPF
# toolchain on the host that runs `docker build` (macOS included). libbpf relocates them at load time
# on whatever kernel the node runs (Linux 6.1 or later).

ARG NODE_BUILD_IMAGE=node:22.15.0-bookworm
ARG NODE_RUNTIME_IMAGE=node:22.15.0-bookworm-slim

############################## build: BPF objects, loader, TypeScript ##############################
FROM ${NODE_BUILD_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      clang llvm libbpf-dev libelf-dev zlib1g-dev pkg-config make gcc bpftool \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
COPY agent/package.json agent/
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY agent/ agent/
COPY demo/ demo/
COPY deploy/cluster-tool/ deploy/cluster-tool/
RUN make -C agent/bpf \
 && npm run build -w agent \
 && npx tsc -p demo/tsconfig.build.json \
 && npx tsc -p deploy/cluster-tool/tsconfig.build.json

############################## production node_modules of the agent workspace ######################
FROM ${NODE_BUILD_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY agent/package.json agent/
RUN npm ci --omit=dev --workspace @flowlens/agent --no-audit --no-fund --ignore-scripts

############################## agent: node + hub ##################################################
FROM ${NODE_RUNTIME_IMAGE} AS agent
# libbpf1/libelf1/zlib1g: the flowlens-loader helper; bpftool: inspecting what the agent pinned;
# iproute2: tc/ip for diagnostics; ethtool: ENA allowance counters (ethtool -S).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libbpf1 libelf1 zlib1g bpftool iproute2 ethtool ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /src/agent/package.json ./agent/package.json
COPY --from=build /src/agent/dist ./agent/dist
COPY --from=build /src/agent/bpf/flowlens.bpf.o ./agent/bpf/flowlens.bpf.o
COPY --from=build /src/agent/bpf/drops.bpf.o ./agent/bpf/drops.bpf.o
COPY --from=build /src/agent/bpf/build/flowlens-loader ./agent/bpf/build/flowlens-loader
COPY --from=build /src/agent/data ./agent/data
RUN ln -s /app/agent/dist/cli.js /usr/local/bin/flowlens-agent && chmod +x /app/agent/dist/cli.js
# The node agent runs as root with a bounded capability set (see the Helm chart); the hub runs
# as uid 1000 (the image's `node` user) with its data on a volume.
ENTRYPOINT ["/usr/bin/tini", "--", "flowlens-agent"]
CMD ["--help"]

############################## demo services ######################################################
FROM ${NODE_RUNTIME_IMAGE} AS demo
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/demo/build ./demo
USER node
ENTRYPOINT ["node", "/app/demo/service.js"]
CMD ["--help"]

############################## cluster tool (compose one-shot) ####################################
FROM ${NODE_BUILD_IMAGE} AS tools
ARG KIND_VERSION=v0.29.0
ARG KUBECTL_VERSION=v1.33.1
ARG HELM_VERSION=v3.18.3
ARG TARGETARCH=amd64
WORKDIR /tools
# Each binary is verified against the checksum its project publishes for that exact version.
RUN set -eux; \
    curl -fsSLo kind "https://kind.sigs.k8s.io/dl/${KIND_VERSION}/kind-linux-${TARGETARCH}"; \
    curl -fsSLo kind.sha256 "https://kind.sigs.k8s.io/dl/${KIND_VERSION}/kind-linux-${TARGETARCH}.sha256sum"; \
    echo "$(cut -d' ' -f1 kind.sha256)  kind" | sha256sum -c -; \
    curl -fsSLo kubectl "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/${TARGETARCH}/kubectl"; \
    curl -fsSLo kubectl.sha256 "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/${TARGETARCH}/kubectl.sha256"; \
    echo "$(cat kubectl.sha256)  kubectl" | sha256sum -c -; \
    curl -fsSLo helm.tgz "https://get.helm.sh/helm-${HELM_VERSION}-linux-${TARGETARCH}.tar.gz"; \
    curl -fsSLo helm.sha256 "https://get.helm.sh/helm-${HELM_VERSION}-linux-${TARGETARCH}.tar.gz.sha256sum"; \
    echo "$(cut -d' ' -f1 helm.sha256)  helm.tgz" | sha256sum -c -; \
    tar -xzf helm.tgz --strip-components=1 "linux-${TARGETARCH}/helm"; \
    chmod +x kind kubectl helm; rm -f ./*.sha256 helm.tgz

FROM ${NODE_RUNTIME_IMAGE} AS cluster-tool
# kind drives Docker through the docker CLI, against the host's engine through the mounted socket.
# The CLI comes from Docker's official image, pinned by version and digest: Debian's docker.io is
# 20.10 (API 1.41) and Docker Engine 29 refuses clients below API 1.44. The 29.1 CLI speaks API 1.52
# and negotiates down to older engines (25 and later accept 1.44).
COPY --from=docker:29.1.3-cli@sha256:fef89d736d81ca03bb9bac2fabdc7bbf5f0b1485a708c94028225cb8623d1084 /usr/local/bin/docker /usr/local/bin/docker
COPY --from=tools /tools/kind /tools/kubectl /tools/helm /usr/local/bin/
WORKDIR /app
ENV NODE_ENV=production
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /src/deploy/cluster-tool/build ./cluster-tool
ENTRYPOINT ["node", "/app/cluster-tool/deploy/cluster-tool/cluster-tool.js"]
CMD ["up"]
