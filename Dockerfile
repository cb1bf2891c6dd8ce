# nats-alerter as a container image, in two stages:
#   build    the official Swift image (Debian 12) plus the C libraries'
#            development packages; a release build with the Swift runtime
#            linked in statically
#   runtime  Debian 12 slim with only the shared libraries the binary needs,
#            running as a non-root user, with a HEALTHCHECK on /-/healthy
#
#   docker build -t nats-alerter .      (docker-compose.yml builds it too)
#
# scripts/check-deploy.sh checks that the build stage installs every apt
# provider named in Package.swift and that the runtime stage's packages (with
# their dependencies) provide every shared library the binary links.

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      pkg-config libnats-dev libprotobuf-c-dev libcurl4-openssl-dev libre2-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so source edits reuse the resolved packages' layer.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
RUN swift build -c release --product nats-alerter --static-swift-stdlib \
 && install -D "$(swift build -c release --show-bin-path)/nats-alerter" /out/nats-alerter

FROM ${RUNTIME_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libnats3.4 libprotobuf-c1 libcurl4 libre2-9 libstdc++6 ca-certificates tzdata curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin nats-alerter
COPY --from=build /out/nats-alerter /usr/local/bin/nats-alerter
# A default configuration; mount your own over it (docker-compose.yml mounts
# config/compose/alerter.yaml). It must listen on 0.0.0.0 to be reachable
# from outside the container.
COPY config/alerter.yaml /etc/nats-alerter/alerter.yaml
# Its rule_files (relative to the config file).
COPY config/rules /etc/nats-alerter/rules
USER nats-alerter
WORKDIR /tmp
EXPOSE 9094
# Change with the listen address (server.listen_address).
ENV NATS_ALERTER_HEALTH_URL=http://127.0.0.1:9094/-/healthy
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS -o /dev/null "$NATS_ALERTER_HEALTH_URL" || exit 1
# SIGTERM drains NATS, flushes notifications and state, then stops HTTP.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/nats-alerter"]
CMD ["run", "--config", "/etc/nats-alerter/alerter.yaml"]
