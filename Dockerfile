# syntax=docker/dockerfile:1
# A small image holding one statically linked binary.
#   docker build -t driftless .
# The build stage runs deploy/build-static.sh, the same command CI runs.

FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends cmake pkg-config libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN deploy/build-static.sh /out

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/driftless /usr/local/bin/driftless
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/driftless"]
CMD ["controller"]
