# syntax=docker/dockerfile:1
# TeslaSync: multi-stage build, small non-root runtime image, data in a volume.
# Multi-arch: `docker buildx build --platform linux/amd64,linux/arm64 .` builds natively per platform
# (both stages are multi-arch Debian images; nothing here names an architecture).

FROM rust:1-bookworm AS build
WORKDIR /src
# 1. Dependencies only, cached until Cargo.toml/Cargo.lock, build.rs or proto/ change. Cargo refuses a
#    manifest whose targets have no source file, so the skeleton gives every target the manifest
#    names an empty one: the library, the binary, and each [[bench]] (names read from Cargo.toml, so
#    a new bench needs no edit here). tests/addon.rs runs this skeleton step and asks cargo whether
#    it accepts the result.
COPY Cargo.toml Cargo.lock build.rs ./
COPY proto ./proto
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && for b in $(sed -n '/^\[\[bench\]\]/,/^$/s/^name *= *"\([^"]*\)".*/\1/p' Cargo.toml); do \
         echo 'fn main() {}' > "benches/$b.rs"; \
       done
RUN cargo build --release --locked --bin teslasync \
    && rm -rf src benches
# 2. The real sources; only TeslaSync itself recompiles. (touch: the dummy files may be newer.)
COPY src ./src
COPY benches ./benches
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --bin teslasync \
    && ./target/release/teslasync --version

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin teslasync \
    && mkdir -p /data && chown teslasync /data
COPY --from=build /src/target/release/teslasync /usr/local/bin/teslasync
COPY config.example.toml /etc/teslasync/config.example.toml
USER teslasync
ENV TESLASYNC_STORAGE__PATH=/data \
    TESLASYNC_HTTP__LISTEN=0.0.0.0:8080
VOLUME ["/data"]
EXPOSE 8080
# Asks the daemon's public /healthz on the loopback address of the configured port.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD ["teslasync", "healthcheck"]
# tini forwards SIGTERM so TeslaSync can publish `offline` and flush its store before exiting.
ENTRYPOINT ["/usr/bin/tini", "--", "teslasync"]
CMD ["run"]
