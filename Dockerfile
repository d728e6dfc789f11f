# syntax=docker/dockerfile:1
# TeslaSync: multi-stage build, small non-root runtime image, data in a volume.

FROM rust:1-bookworm AS build
WORKDIR /src
# Build dependencies first so source edits reuse the cached layer.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked --bin teslasync || true
COPY src ./src
COPY benches ./benches
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin teslasync

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
# tini forwards SIGTERM so TeslaSync can publish `offline` and flush its store before exiting.
ENTRYPOINT ["/usr/bin/tini", "--", "teslasync"]
CMD ["run"]
