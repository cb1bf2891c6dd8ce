#!/usr/bin/python3
"""Cross-checks of the deployment files that no single tool does.

Run by scripts/check-deploy.sh (which also runs docker-compose, promtool,
amtool and nats-server on them). Needs Debian's python3-yaml.

    check_deploy_files.py COMPOSE_CONFIG_YAML NATS_ALERTER_BINARY

COMPOSE_CONFIG_YAML is the output of `docker-compose config`: the compose file
with defaults and relative paths resolved.
"""

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
failures: list[str] = []
passes = 0


def check(condition: bool, what: str) -> None:
    global passes
    if condition:
        passes += 1
    else:
        failures.append(what)
        print(f"check-deploy: FAIL {what}", file=sys.stderr)


def container_ports(service: dict) -> set[int]:
    """Ports a compose service listens on inside its container (published or exposed)."""
    ports = set()
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            ports.add(int(entry["target"]))
        else:  # "127.0.0.1:9093:9093/tcp"
            ports.add(int(str(entry).split("/")[0].split(":")[-1]))
    ports.update(int(str(port).split("/")[0]) for port in service.get("expose", []))
    return ports


def check_endpoint(services: dict, host: str, port: int | None, where: str, service: str | None = None) -> None:
    """host:port must be a compose service (the named one, when given) and one of its ports."""
    if service is not None:
        check(host == service, f"{where}: host {host!r} is not the compose service {service!r}")
    check(host in services, f"{where}: {host!r} is not a service in docker-compose.yml ({', '.join(sorted(services))})")
    if host in services:
        check(port in container_ports(services[host]),
              f"{where}: port {port} is not a port of service {host!r} ({sorted(container_ports(services[host]))})")


def main() -> int:
    compose = yaml.safe_load(Path(sys.argv[1]).read_text())
    binary = sys.argv[2]
    services = compose["services"]

    # Every file the stack mounts or reads as a secret is in the repository.
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith("/"):
                check(Path(source).exists(), f"service {name}: mounted path {source} does not exist")
    for name, secret in compose.get("secrets", {}).items():
        check(Path(secret["file"]).is_file(), f"secret {name}: file {secret['file']} does not exist")

    # Prometheus: scrape and alerting targets are compose services and ports.
    prometheus = yaml.safe_load((ROOT / "config/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    for expected in ("nats-alerter", "alertmanager", "prometheus"):
        check(expected in jobs, f"prometheus.yml: no scrape job {expected!r}")
    for job_name, job in jobs.items():
        targets = [t for config in job.get("static_configs", []) for t in config.get("targets", [])]
        check(len(targets) > 0, f"prometheus.yml: job {job_name} has no static targets")
        for target in targets:
            host, _, port = target.rpartition(":")
            check_endpoint(services, host, int(port), f"prometheus.yml job {job_name} target {target}",
                           service=job_name if job_name in services else None)
    alertmanager_targets = [t for am in prometheus["alerting"]["alertmanagers"]
                            for config in am.get("static_configs", []) for t in config.get("targets", [])]
    check(len(alertmanager_targets) > 0, "prometheus.yml: no Alertmanager to send alerts to")
    for target in alertmanager_targets:
        host, _, port = target.rpartition(":")
        check_endpoint(services, host, int(port), f"prometheus.yml alerting target {target}", service="alertmanager")
    for rule_file in prometheus.get("rule_files", []):
        check((ROOT / "config/prometheus" / rule_file).is_file(), f"prometheus.yml: rule file {rule_file} is not in config/prometheus/")
    prometheus_mount = [v for v in services["prometheus"]["volumes"] if str(v).endswith(":/etc/prometheus:ro")]
    check(bool(prometheus_mount), "prometheus service: config/prometheus is not mounted at /etc/prometheus")

    # nats-alerter's compose config: the endpoints it uses and the one it serves.
    alerter = yaml.safe_load((ROOT / "config/compose/alerter.yaml").read_text())
    listen_port = int(alerter["server"]["listen_address"].rpartition(":")[2])
    check(alerter["server"]["listen_address"].startswith("0.0.0.0:"), "config/compose/alerter.yaml: server.listen_address must be 0.0.0.0:… in a container")
    check(listen_port in container_ports(services["nats-alerter"]), f"nats-alerter listens on {listen_port}, not a port of its compose service")
    # Listening on all interfaces of the container: mutations must need the token (README "HTTP API").
    token_file = alerter["server"].get("api_token_file", "")
    check(token_file.startswith("/run/secrets/"), "config/compose/alerter.yaml: server.api_token_file must be set (a compose secret under /run/secrets/)")
    token_secret = token_file.rpartition("/")[2]
    given = [s["source"] if isinstance(s, dict) else s for s in services["nats-alerter"].get("secrets", [])]
    check(token_secret in given, f"nats-alerter service: the secret {token_secret} (server.api_token_file) is not given to it")
    for url in alerter["nats"]["servers"]:
        parts = urlsplit(url)
        check_endpoint(services, parts.hostname, parts.port, f"alerter.yaml nats.servers {url}", service="nats")
    for receiver in alerter["receivers"]:
        for config in receiver.get("alertmanager_configs", []):
            for url in config["urls"]:
                parts = urlsplit(url)
                check_endpoint(services, parts.hostname, parts.port, f"alerter.yaml receiver {receiver['name']} {url}", service="alertmanager")
    smarthost = alerter["global"]["smtp_smarthost"]
    check_endpoint(services, smarthost.rpartition(":")[0], int(smarthost.rpartition(":")[2]), f"alerter.yaml smtp_smarthost {smarthost}", service="mailpit")
    mounted_secrets = {s if isinstance(s, str) else s["source"] for s in services["nats-alerter"].get("secrets", [])}
    for path in re.findall(r"/run/secrets/([A-Za-z0-9_.-]+)", (ROOT / "config/compose/alerter.yaml").read_text()):
        check(path in mounted_secrets, f"alerter.yaml reads /run/secrets/{path}, which the nats-alerter service does not mount")

    # The compose config is the shipped one but for hosts, listen address,
    # secrets and the Mailpit receiver: the engine's sections must not drift.
    shipped = yaml.safe_load((ROOT / "config/alerter.yaml").read_text())
    for section in ("state", "route", "inhibit_rules", "rule_files"):
        check(alerter.get(section) == shipped.get(section),
              f"config/compose/alerter.yaml: `{section}` differs from config/alerter.yaml; copy the change over")
    for key in ("subjects", "jetstream"):
        check(alerter["nats"].get(key) == shipped["nats"].get(key),
              f"config/compose/alerter.yaml: `nats.{key}` differs from config/alerter.yaml; copy the change over")

    # The compose config loads in nats-alerter itself, with the secrets at their repository paths.
    text = (ROOT / "config/compose/alerter.yaml").read_text().replace("/run/secrets/", str(ROOT / "config/compose/secrets") + "/")
    local = ROOT / "run" / "check-deploy-alerter.yaml"
    local.parent.mkdir(exist_ok=True)
    local.write_text(text)
    # rule_files are relative to the config file: in the container, /etc/nats-alerter/rules.
    rules_link = local.parent / "rules"
    made_link = not rules_link.exists()
    if made_link:
        rules_link.symlink_to(ROOT / "config/rules")
    check(any(str(v).endswith(":/etc/nats-alerter/rules:ro") for v in services["nats-alerter"]["volumes"]),
          "nats-alerter service: config/rules is not mounted at /etc/nats-alerter/rules (the config's rule_files)")
    result = subprocess.run([binary, "check-config", "--config", str(local)], capture_output=True, text=True)
    check(result.returncode == 0, f"nats-alerter check-config config/compose/alerter.yaml: {result.stdout}{result.stderr}")
    local.unlink()
    if made_link:
        rules_link.unlink()

    # Grafana: datasource URL is the Prometheus service; the dashboard is valid and uses that datasource.
    datasources = yaml.safe_load((ROOT / "config/grafana/provisioning/datasources/prometheus.yml").read_text())["datasources"]
    uids = {d["uid"] for d in datasources}
    for datasource in datasources:
        parts = urlsplit(datasource["url"])
        check_endpoint(services, parts.hostname, parts.port, f"grafana datasource {datasource['name']}", service="prometheus")
    dashboard = json.loads((ROOT / "config/grafana/dashboards/nats-alerter.json").read_text())
    graphs = [p for p in dashboard["panels"] if p["type"] != "row"]
    check(len(graphs) >= 10, f"dashboard: only {len(graphs)} panels")
    for panel in graphs:
        check(len(panel.get("targets", [])) > 0 and all(t.get("expr") for t in panel["targets"]), f"dashboard panel {panel['title']!r}: no query")
        check(panel.get("datasource", {}).get("uid") in uids, f"dashboard panel {panel['title']!r}: datasource is not a provisioned one {sorted(uids)}")
    # Every PromQL query of the dashboard parses: promtool checks them as
    # recording rules, with Grafana's variables replaced by values.
    queries = [t["expr"] for p in graphs for t in p["targets"]]
    queries += [a["expr"] for a in dashboard["annotations"]["list"] if "expr" in a]
    substitutions = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h", "$instance": ".*"}
    rules = {"groups": [{"name": "dashboard", "rules": []}]}
    for number, query in enumerate(queries):
        for variable, value in substitutions.items():
            query = query.replace(variable, value)
        check("$" not in query, f"dashboard query uses an unknown variable: {query}")
        rules["groups"][0]["rules"].append({"record": f"dashboard:query_{number}", "expr": query})
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as file:
        yaml.safe_dump(rules, file)
    result = subprocess.run(["promtool", "check", "rules", file.name], capture_output=True, text=True)
    Path(file.name).unlink()
    check(result.returncode == 0 and len(queries) >= 30, f"dashboard PromQL ({len(queries)} queries) does not parse: {result.stdout}{result.stderr}")

    provider = yaml.safe_load((ROOT / "config/grafana/provisioning/dashboards/nats-alerter.yml").read_text())["providers"][0]
    dashboards_mounted = any(str(v).endswith(":" + provider["options"]["path"] + ":ro") and "config/grafana/dashboards" in str(v)
                             for v in services["grafana"]["volumes"])
    check(dashboards_mounted, f"grafana: config/grafana/dashboards is not mounted at the provider's path {provider['options']['path']}")

    # Dockerfile: the build stage installs Package.swift's apt providers; the
    # runtime stage's packages provide every shared library of the binary.
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    stages = re.split(r"^FROM ", dockerfile, flags=re.M)[1:]
    check(len(stages) == 2, f"Dockerfile: expected 2 stages, found {len(stages)}")

    def installed(stage: str) -> set[str]:
        packages = set()
        for command in re.findall(r"apt-get install ([^&\n]*)", stage):
            packages.update(word for word in command.split() if not word.startswith("-"))
        return packages

    build_packages, runtime_packages = installed(stages[0]), installed(stages[1])
    providers = set(re.findall(r'\.apt\(\["([^"]+)"', (ROOT / "Package.swift").read_text()))
    check(providers and providers <= build_packages, f"Dockerfile build stage lacks {sorted(providers - build_packages)} (Package.swift providers)")
    check("USER" in stages[1] and "HEALTHCHECK" in stages[1] and "/-/healthy" in stages[1], "Dockerfile runtime stage: needs USER, and a HEALTHCHECK on /-/healthy")
    # A slim Debian image holds the packages of priority "required" and apt;
    # the runtime stage adds its own; all of them bring their dependencies.
    priorities = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Priority}\n"], capture_output=True, text=True).stdout.splitlines()
    base = {line.split()[0] for line in priorities if line.endswith(" required")} | {"apt"}
    closure = set(subprocess.run(
        ["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts", "--no-breaks",
         "--no-replaces", "--no-enhances", *sorted(runtime_packages | base)],
        capture_output=True, text=True, check=True).stdout.split())
    closure = {word.strip("<>").split(":")[0] for word in closure}
    libraries = [line.split() for line in subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout.splitlines()]
    system_libraries = [parts[2] for parts in libraries if len(parts) >= 3 and parts[1] == "=>" and parts[2].startswith(("/lib", "/usr/lib"))]
    check(len(system_libraries) > 3, f"ldd {binary}: found no system libraries")
    for library in system_libraries:
        owner = subprocess.run(["dpkg", "-S", library], capture_output=True, text=True)
        if owner.returncode != 0:  # /lib is a symlink to /usr/lib on Debian 12
            owner = subprocess.run(["dpkg", "-S", str(Path(library).resolve())], capture_output=True, text=True)
        package = owner.stdout.split(":")[0]
        check(package in closure,
              f"Dockerfile runtime stage: {library} comes from {package or '(unknown)'}, which neither its packages nor their dependencies install")

    print(f"check-deploy: {passes} cross-checks passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
