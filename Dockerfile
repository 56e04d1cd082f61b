# syntax=docker/dockerfile:1
# A small image holding the statically linked driftless binary and the
# pinned, statically linked helm it runs for charts.
#   docker build -t driftless .
# The build stage runs deploy/build-static.sh, the same command CI runs.

FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends cmake pkg-config libssl-dev \
    && rm -rf /var/lib/apt/lists/*
# Go builds the pinned helm (tests/cluster/build-helm.sh, from the Go module
# proxy); helm v4.2.1 needs Go 1.26.
COPY --from=golang:1.26-bookworm /usr/local/go /usr/local/go
ENV PATH=/usr/local/go/bin:$PATH
WORKDIR /src
COPY . .
RUN deploy/build-static.sh /out

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/driftless /usr/local/bin/driftless
COPY --from=build /out/helm /usr/local/bin/helm
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/driftless"]
CMD ["controller"]
