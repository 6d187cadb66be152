# syntax=docker/dockerfile:1
# The scanner Lambda (infra/modules/scanner): ClamAV plus the palisade
# binary, whose `scan` role is the Lambda handler for S3 "Object Created"
# events and whose `update-definitions` role refreshes the signatures in
# the definitions bucket. ARM64, like the function.
#
#   docker buildx build --platform linux/arm64 -f deploy/docker/scanner.Dockerfile \
#     --build-arg VERSION=v1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg DATE=$(git log -1 --format=%cI) -t scanner:v1.2.3 .
#
# ClamAV comes from Debian's packages, so this image needs a container
# engine and the Debian mirrors; `make images` cannot build it offline
# (docs/cicd-setup.md, "Scanner image").

# 1.27.3, as the Makefile pins: 1.26.8's standard library has known vulnerabilities.
ARG GO_VERSION=1.27.3

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
ARG TARGETARCH=arm64
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w \
        -X github.com/palisade-hq/palisade/internal/buildinfo.Version=${VERSION} \
        -X github.com/palisade-hq/palisade/internal/buildinfo.Commit=${COMMIT} \
        -X github.com/palisade-hq/palisade/internal/buildinfo.Date=${DATE}" \
      -o /out/palisade ./cmd/palisade

FROM debian:bookworm-slim
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
LABEL org.opencontainers.image.title="palisade-scanner" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${DATE}" \
      org.opencontainers.image.source="https://github.com/palisade-hq/palisade"
# clamd only: freshclam would reach the internet from the function; the
# update function fetches signatures and stores them in S3 instead.
RUN apt-get update \
 && apt-get install -y --no-install-recommends clamav-daemon ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* /var/lib/clamav/*
COPY --from=build /out/palisade /usr/local/bin/palisade
# Lambda runs the image as a non-root user with only /tmp writable: both
# functions fetch the signatures into /tmp/clamav and start this clamd on
# them (it writes its own clamd.conf beside that folder, internal/scan
# DaemonConfig), listening on the socket below. Without
# PALISADE_CLAMD_BINARY the roles refuse to start in production
# (config.Required); infra/deploytest runs the functions with these values.
ENV PALISADE_CLAMD_BINARY=/usr/sbin/clamd \
    PALISADE_CLAMAV_DIR=/tmp/clamav \
    PALISADE_CLAMD_ADDR=unix:///tmp/clamd.sock
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/palisade"]
CMD ["scan"]
