# syntax=docker/dockerfile:1
# Palisade's release image, for builders with a container engine:
#
#   docker buildx build --platform linux/arm64,linux/amd64 \
#     --build-arg VERSION=v1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg DATE=$(git log -1 --format=%cI) -t palisade:v1.2.3 .
#
# The release pipeline builds the same layout without an engine
# (`make images`, cmd/imagebuild): /usr/local/bin/palisade, user 65532, no
# shell, no entrypoint, because ECS runs the command ["palisade", "<role>"].

ARG GO_VERSION=1.26.8

# The compiler runs natively and cross-compiles: no emulation, and the
# binary needs no cgo, so one stage serves every target architecture.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
ARG TARGETOS=linux
ARG TARGETARCH=arm64
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -tags nodev \
      -ldflags "-s -w \
        -X github.com/palisade-hq/palisade/internal/buildinfo.Version=${VERSION} \
        -X github.com/palisade-hq/palisade/internal/buildinfo.Commit=${COMMIT} \
        -X github.com/palisade-hq/palisade/internal/buildinfo.Date=${DATE}" \
      -o /out/palisade ./cmd/palisade

# distroless/static: CA certificates, tzdata, /etc/passwd with "nonroot"
# (65532), no shell and no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
LABEL org.opencontainers.image.title="palisade" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${DATE}" \
      org.opencontainers.image.source="https://github.com/palisade-hq/palisade"
COPY --from=build /out/palisade /usr/local/bin/palisade
USER 65532:65532
EXPOSE 3000 8000 8080 9090
STOPSIGNAL SIGTERM
CMD ["palisade", "version"]
