# letta-admin: release build, then a slim non-root runtime.
# Not exercised in CI (no Docker engine runs there); kept right by reading it against
# scripts/bootstrap.sh and scripts/run.sh, which are.

FROM rust:1.95-bookworm AS build
RUN rustup target add wasm32-unknown-unknown \
 && cargo install cargo-leptos --version 0.3.10 --locked \
 && cargo install wasm-opt --version 0.116.1 --locked
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
# wasm-bindgen-cli must equal the wasm-bindgen version in Cargo.lock.
RUN WBG=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p') \
 && cargo install wasm-bindgen-cli --version "$WBG"
COPY . .
# The release build scripts/run.sh and the tests use (type-erased views, precompressed
# and hashed assets: see scripts/build-release.sh).
RUN scripts/build-release.sh

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /home/letta-admin letta-admin \
 && mkdir -p /data && chown letta-admin /data
COPY --from=build /src/target/release/letta-admin /usr/local/bin/letta-admin
# The asset names' content hashes: the server reads them beside its binary.
COPY --from=build /src/target/release/hash.txt /usr/local/bin/hash.txt
COPY --from=build /src/target/site /opt/letta-admin/site
ENV LEPTOS_OUTPUT_NAME=letta_admin \
    LEPTOS_SITE_ROOT=/opt/letta-admin/site \
    LEPTOS_SITE_PKG_DIR=pkg \
    LEPTOS_SITE_ADDR=0.0.0.0:3000 \
    LETTA_ADMIN_DATA_DIR=/data \
    RUST_LOG=info
# On Postgres (several replicas behind a load balancer), give every container the same
# DATABASE_URL=postgres://… and the same key: LETTA_ADMIN_SECRET_KEY, or a secret mounted
# read-only and named by LETTA_ADMIN_SECRET_KEY_FILE (e.g. /run/secrets/letta-admin-key).
# /data then holds nothing the replicas need to share (README: Several instances).
VOLUME /data
USER letta-admin
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD curl -fsS http://127.0.0.1:3000/healthz || exit 1
CMD ["letta-admin"]
