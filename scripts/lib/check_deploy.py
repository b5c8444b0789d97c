#!/usr/bin/env python3
"""Checks of the deployment files, run by scripts/check-deploy.sh (make test). No engine needed.

- deploy/compose.yaml, deploy/compose.local.yaml, deploy/compose.tls.yaml and their merges
  validate against the Compose specification's JSON schema (deploy/schema/compose-spec.json,
  draft-07);
- parity with the one-machine runner and the shared configuration: every process `make run`
  starts (gateway, orders, payments, ci, monitor, the load balancer, the broker), every port the
  configuration gives them, every ${VAR} deploy/hookline.yaml reads, and the same mounted file;
- the sources' secrets are Compose secrets mounted into the gateway alone, none in an environment;
- the production topology: three KRaft brokers, replication 3, min.insync.replicas 2, no topic
  auto-creation, a scalable gateway behind HAProxy, a healthcheck on every service;
- TLS (compose.tls.yaml): HAProxy's certificate a Compose secret, 8443 published, bound in haproxy.cfg,
  a renewal loaded through the runtime API on the container's loopback;
- the Prometheus alert rules name metrics that exist;
- deploy/Dockerfile: a multi-stage build on the official Swift image of Ubuntu noble, the Swift
  runtime linked statically, every executable product copied, a non-root user.

Prints one line per failed check and exits 1 if any failed.
"""

import copy
import fnmatch
import json
import os
import re
import shlex
import sys

import jsonschema
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(ROOT, "deploy")
CONFIG_MOUNT = "./hookline.yaml:/etc/hookline/hookline.yaml:ro"
CONFIG_PATH = "/etc/hookline/hookline.yaml"
# The variables the sources' secrets read (deploy/hookline.yaml), set by main(): only the gateway
# resolves them, and compose sets each to a mounted secret file.
SECRETS_ENV: list[str] = []


def secret_variables(config):
    """Every ${VAR} in a source's secrets, public_keys or signing_tokens."""
    found = set()
    for source in (config.get("sources") or {}).values():
        for key in ("secrets", "public_keys", "signing_tokens"):
            for value in source.get(key) or []:
                found |= set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", str(value)))
    return sorted(found)

failures: list[str] = []
passed = 0


def check(condition, message):
    global passed
    if condition:
        passed += 1
    else:
        failures.append(message)
    return condition


def read(path):
    with open(os.path.join(ROOT, path)) as file:
        return file.read()


def load_yaml(path):
    return yaml.safe_load(read(path))


# --- Compose interpolation and merging ----------------------------------------------------------

VARIABLE = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*)|(:?\?)([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def interpolate(value, env, where="compose"):
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} and $$, applied to every string."""
    if isinstance(value, dict):
        return {key: interpolate(item, env, where) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env, where) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match):
        if match.group(1):
            return "$"
        name = match.group(2) or match.group(7)
        current = env.get(name)
        if match.group(3):
            empty_counts = match.group(3) == ":-"
            return match.group(4) if current is None or (empty_counts and current == "") else current
        if match.group(5):
            if current is None or (match.group(5) == ":?" and current == ""):
                raise KeyError(f"{where}: {name} is required ({match.group(6)})")
            return current
        return current or ""

    return VARIABLE.sub(substitute, value)


REPLACED_LISTS = {"command", "entrypoint", "test", "dns", "dns_search"}


def merge(base, override, key=None):
    """The Compose merge of an override into a file: mappings key by key, scalars and
    command-like lists replaced, volumes by mount target, ports and other lists appended."""
    if isinstance(base, dict) and isinstance(override, dict):
        result = dict(base)
        for name, value in override.items():
            result[name] = merge(base[name], value, name) if name in base else copy.deepcopy(value)
        return result
    if isinstance(base, list) and isinstance(override, list) and key not in REPLACED_LISTS:
        if key == "volumes":
            targets = {mount_target(v) for v in override}
            return [v for v in base if mount_target(v) not in targets] + list(override)
        return list(base) + [v for v in override if v not in base]
    return copy.deepcopy(override)


def mount_target(volume):
    if isinstance(volume, dict):
        return volume.get("target")
    return volume.split(":")[1] if ":" in volume else volume


def schema_errors(document, schema):
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}" for error in validator.iter_errors(document)]


# --- helpers over a compose model -----------------------------------------------------------------


def command_of(service):
    command = service.get("command")
    if isinstance(command, str):
        return shlex.split(command)
    return [str(part) for part in command or []]


def hookline_services(compose):
    """Services running a Hookline executable: name -> executable."""
    found = {}
    for name, service in compose["services"].items():
        command = command_of(service)
        if command and (command[0] == "hookline" or command[0].startswith("hookline-")):
            found[name] = command[0]
    return found


def listen_port(service):
    command = command_of(service)
    if "--listen" in command:
        return int(command[command.index("--listen") + 1].rsplit(":", 1)[1])
    return None


def published_ports(service):
    ports = set()
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            ports.add((int(entry["published"]), int(entry["target"])))
        else:
            parts = str(entry).split(":")
            ports.add((int(parts[-2]), int(parts[-1].split("/")[0])))
    return ports


def environment(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {key: (None if value is None else str(value)) for key, value in env.items()}


def replicas(service):
    return int(service.get("deploy", {}).get("replicas", 1))


def running(compose):
    return {name: service for name, service in compose["services"].items() if replicas(service) > 0}


# --- the checks --------------------------------------------------------------------------------------


def main():
    schema = json.loads(read("deploy/schema/compose-spec.json"))
    config_text = read("deploy/hookline.yaml")
    config = yaml.safe_load(config_text)
    # The variables the configuration's values read (comments left out).
    config_vars = sorted(set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", yaml.safe_dump(config))))
    SECRETS_ENV[:] = secret_variables(config)
    env = {}

    raw_prod = load_yaml("deploy/compose.yaml")
    raw_local = load_yaml("deploy/compose.local.yaml")
    prod = interpolate(raw_prod, env, "compose.yaml")
    local = interpolate(raw_local, env, "compose.local.yaml")
    merged = merge(prod, local)
    tls = interpolate(load_yaml("deploy/compose.tls.yaml"), env, "compose.tls.yaml")
    with_tls = {"compose.yaml + compose.tls.yaml": merge(prod, tls), "the merged local compose + compose.tls.yaml": merge(merged, tls)}

    # Schema.
    for label, document in [("compose.yaml", prod), ("compose.local.yaml", local), ("compose.yaml + compose.local.yaml", merged),
                            ("compose.tls.yaml", tls), *with_tls.items()]:
        errors = schema_errors(document, schema)
        check(not errors, f"{label} does not validate against the Compose schema: " + "; ".join(errors[:5]))

    # Lists in the override that podman-compose would append to the base's instead of replacing.
    for name, service in local["services"].items():
        for key, value in service.items():
            base = prod["services"].get(name, {}).get(key)
            if isinstance(value, list) and isinstance(base, list) and key != "volumes":
                check(False, f"compose.local.yaml: services.{name}.{key} is a list over a list; podman-compose appends, Compose replaces")
            if key == "healthcheck" and isinstance(value.get("test"), list):
                check(False, f"compose.local.yaml: services.{name}.healthcheck.test must be a string (lists get appended)")

    check_parity(prod, merged, config, config_vars)
    for label, compose in [("compose.yaml", prod), ("the merged local compose", merged)]:
        check_secrets(label, compose)
    check_production(prod, config)
    check_local(merged)
    check_prometheus(prod)
    check_haproxy(prod, config)
    for label, compose in with_tls.items():
        check_tls(label, compose)
    check_dockerfile()

    for failure in failures:
        print(f"check-deploy: FAIL {failure}")
    print(f"check-deploy: {passed} checks passed, {len(failures)} failed")
    return 1 if failures else 0


def check_parity(prod, merged, config, config_vars):
    """Everything the one-machine runner starts, listens on and reads is in compose.yaml."""
    # The processes: one per section of hookline.yaml, plus what run-local.sh names.
    expected = {"gateway": "hookline-gateway", "monitor": "hookline-monitor"}
    for name in config.get("services", {}):
        expected[name] = f"hookline-{name}"
    runner = read("scripts/run-local.sh")
    for executable in set(re.findall(r"/hookline-([a-z][a-z0-9-]*[a-z0-9])\b", runner)):
        if executable not in ("demo", "bench"):
            expected.setdefault(executable, f"hookline-{executable}")
    for label, compose in [("compose.yaml", prod), ("the merged local compose", merged)]:
        services = hookline_services(compose)
        executables = set(services.values())
        for name, executable in sorted(expected.items()):
            check(executable in executables, f"{label}: no service runs {executable} (make run starts it)")
        # scripts/compose.sh starts the consumer services by their names in hookline.yaml.
        for name in config.get("services", {}):
            check(services.get(name) == f"hookline-{name}", f"{label}: the service running hookline-{name} should be named {name}, as in deploy/hookline.yaml (scripts/compose.sh starts it by that name)")
        # The load balancer and the broker.
        check(any("haproxy" in " ".join(command_of(s)) or "haproxy" in str(s.get("image", "")) for s in running(compose).values()),
              f"{label}: no HAProxy load balancer")
        check(any("kafka" in str(s.get("image", "")) or "broker" in str(s.get("image", "")) for s in running(compose).values()),
              f"{label}: no Kafka broker")
        # The same configuration file, read-only, in every Hookline container.
        for name in services:
            service = compose["services"][name]
            check(CONFIG_MOUNT in service.get("volumes", []), f"{label}: services.{name} does not mount deploy/hookline.yaml read-only at {CONFIG_PATH}")
            check(CONFIG_PATH in command_of(service), f"{label}: services.{name} does not run with --config {CONFIG_PATH}")
    # The local override mounts it too.
    for name in hookline_services(prod):
        local_service = load_yaml("deploy/compose.local.yaml")["services"].get(name, {})
        check(CONFIG_MOUNT in local_service.get("volumes", []), f"compose.local.yaml: services.{name} does not mount deploy/hookline.yaml")

    # Ports: what the configuration gives each process is where its container listens, and the
    # runner's ports (8080, 8091-8093, 8099) are published.
    services = hookline_services(prod)
    by_executable = {executable: name for name, executable in services.items()}
    config_ports = {"hookline-gateway": int(config["gateway"]["listen"].rsplit(":", 1)[1]),
                    "hookline-monitor": int(config["monitor"]["listen"].rsplit(":", 1)[1])}
    for name, section in config.get("services", {}).items():
        # Without listen a service takes its built-in port, which make run cannot know either.
        check("listen" in (section or {}), f"deploy/hookline.yaml: services.{name} has no listen (make run and compose start it on that port)")
        if "listen" in (section or {}):
            config_ports[f"hookline-{name}"] = int(section["listen"].rsplit(":", 1)[1])
    published = set()
    for service in prod["services"].values():
        published |= {host for host, _ in published_ports(service)}
    for executable, port in sorted(config_ports.items()):
        name = by_executable.get(executable)
        if name is None:
            continue
        check(listen_port(prod["services"][name]) == port, f"compose.yaml: services.{name} should listen on 0.0.0.0:{port} (deploy/hookline.yaml)")
        check(port in published, f"compose.yaml: port {port} (deploy/hookline.yaml, {executable}) is not published")
    for port in re.findall(r"\b(80[89][0-9])\b", runner):
        check(int(port) in published or int(port) >= 8100, f"compose.yaml: port {port}, used by scripts/run-local.sh, is not published")

    # Every ${VAR} the configuration reads is set for the containers that read it.
    hookline_envs = {name: environment(prod["services"][name]) for name in services}
    for variable in config_vars:
        check(any(variable in env for env in hookline_envs.values()), f"compose.yaml: ${{{variable}}} (deploy/hookline.yaml) is set for no Hookline service")
    # Every process reads the whole file: a variable without a default, outside the sources'
    # secrets (resolved by the gateway alone), must be set for each of them.
    required = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", yaml.safe_dump(config))) - set(SECRETS_ENV)
    for variable in sorted(required):
        for name, env in hookline_envs.items():
            check(variable in env, f"compose.yaml: services.{name} lacks ${{{variable}}}, which deploy/hookline.yaml needs in every process")
    for name, env in hookline_envs.items():
        check(env.get("KAFKA_BROKERS", "").split(",") == ["kafka-1:9092", "kafka-2:9092", "kafka-3:9092"], f"compose.yaml: services.{name} KAFKA_BROKERS should list the three brokers")
        check(env.get("KAFKA_REPLICATION_FACTOR") == "3", f"compose.yaml: services.{name} KAFKA_REPLICATION_FACTOR should be 3")
    gateway_env = hookline_envs.get(by_executable.get("hookline-gateway"), {})
    for variable in SECRETS_ENV:
        check(variable in gateway_env, f"compose.yaml: the gateway lacks {variable}")


def check_secrets(label, compose):
    """The sources' secrets reach the gateway as Compose secrets (files under /run/secrets), never
    as values in a container's environment, where `inspect` and /proc show them."""
    services = hookline_services(compose)
    gateway_name = next((name for name, executable in services.items() if executable == "hookline-gateway"), None)
    if not check(gateway_name, f"{label}: no gateway service"):
        return
    for variable in SECRETS_ENV:
        check_secret_file(label, compose, gateway_name, variable, "file:")
    for name in services:
        if name != gateway_name:
            check(not compose["services"][name].get("secrets"), f"{label}: services.{name} mounts secrets; only the gateway verifies")
            check(not set(SECRETS_ENV) & set(environment(compose["services"][name])), f"{label}: services.{name} gets a source's secret")


def check_secret_file(label, compose, service, variable, prefix):
    """services.SERVICE's VARIABLE is PREFIX/run/secrets/<name>: a secret it mounts, declared with a file."""
    value = environment(compose["services"][service]).get(variable) or ""
    match = re.fullmatch(re.escape(prefix) + r"/run/secrets/([A-Za-z0-9_.-]+)", value)
    if check(match, f"{label}: {service}'s {variable} should be {prefix}/run/secrets/<name>, a Compose secret, not {'a value' if value else 'unset'}"):
        name = match.group(1)
        mounted = {entry if isinstance(entry, str) else entry.get("source") for entry in compose["services"][service].get("secrets") or []}
        check(name in mounted, f"{label}: {service} reads {value} but does not mount the secret {name}")
        check("file" in ((compose.get("secrets") or {}).get(name) or {}), f"{label}: secrets.{name} is not declared with a file")


def check_production(prod, config):
    services = prod["services"]
    for name, service in services.items():
        check("healthcheck" in service and service["healthcheck"].get("test"), f"compose.yaml: services.{name} has no healthcheck")
    brokers = {name: s for name, s in services.items() if str(s.get("image", "")).startswith("apache/kafka:")}
    check(len(brokers) == 3, f"compose.yaml: {len(brokers)} apache/kafka brokers, want 3")
    node_ids = set()
    for name, service in brokers.items():
        env = environment(service)
        node_ids.add(env.get("KAFKA_NODE_ID"))
        check("broker" in env.get("KAFKA_PROCESS_ROLES", "") and "controller" in env.get("KAFKA_PROCESS_ROLES", ""), f"{name}: KRaft broker+controller roles")
        voters = env.get("KAFKA_CONTROLLER_QUORUM_VOTERS", "").split(",")
        check(sorted(v.split("@")[1].split(":")[0] for v in voters if "@" in v) == sorted(brokers), f"{name}: quorum voters should be the three brokers")
        check(env.get("KAFKA_DEFAULT_REPLICATION_FACTOR") == "3", f"{name}: default.replication.factor 3")
        check(env.get("KAFKA_MIN_INSYNC_REPLICAS") == "2", f"{name}: min.insync.replicas 2")
        check(env.get("KAFKA_AUTO_CREATE_TOPICS_ENABLE") == "false", f"{name}: auto.create.topics.enable false")
        check(env.get("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR") == "3", f"{name}: offsets topic replication 3")
        check(env.get("KAFKA_ADVERTISED_LISTENERS") == f"PLAINTEXT://{name}:9092", f"{name}: advertises itself by service name")
        check(env.get("CLUSTER_ID"), f"{name}: CLUSTER_ID")
    check(len(node_ids) == 3, "compose.yaml: the brokers' KAFKA_NODE_ID values are not distinct")

    gateway = services.get("gateway", {})
    check(replicas(gateway) == 3, "compose.yaml: gateway should have deploy.replicas 3")
    check("container_name" not in gateway and not gateway.get("ports"), "compose.yaml: gateway must publish no port and have no container_name (scaling)")
    lb = services.get("haproxy", {})
    check((8080, 8080) in published_ports(lb), "compose.yaml: haproxy should publish 8080")
    # Every configured service keeps its database on a named volume: in the container's own
    # layer, the next image would start it empty.
    by_executable = {executable: name for name, executable in hookline_services(prod).items()}
    for service in (config.get("services") or {}):
        name = by_executable.get(f"hookline-{service}", service)
        volumes = services.get(name, {}).get("volumes", [])
        data = [v for v in volumes if mount_target(v) == "/var/lib/hookline/data"]
        check(data and data[0].split(":")[0] in (prod.get("volumes") or {}), f"compose.yaml: services.{name} needs a named volume on /var/lib/hookline/data")
    check("prometheus" in services, "compose.yaml: no prometheus service")


def check_local(merged):
    live = running(merged)
    check(not any(str(s.get("image", "")).startswith("apache/kafka") for s in live.values()), "local: an apache/kafka broker would run")
    check("prometheus" not in live, "local: prometheus would run (it has no local image)")
    check(str(merged["services"]["kafka-1"].get("image", "")).startswith("localhost/hookline-broker"), "local: kafka-1 should be the Tansu broker image")
    for name in hookline_services(merged):
        env = environment(merged["services"][name])
        check(env.get("KAFKA_BROKERS") == "kafka-1:9092", f"local: services.{name} KAFKA_BROKERS should be kafka-1:9092")
        check(env.get("KAFKA_REPLICATION_FACTOR") == "1", f"local: services.{name} KAFKA_REPLICATION_FACTOR should be 1")
    for name, service in live.items():
        check(not str(service.get("image", "")).count("/") or str(service.get("image")).startswith("localhost/"), f"local: services.{name} uses {service.get('image')}, which cannot be pulled here")


def check_prometheus(prod):
    config = load_yaml("deploy/prometheus/prometheus.yml")
    rules = load_yaml("deploy/prometheus/alerts.yml")
    check("/etc/prometheus/alerts.yml" in config.get("rule_files", []), "prometheus.yml does not load alerts.yml")
    jobs = {job["job_name"]: job for job in config.get("scrape_configs", [])}
    check(any(sd.get("names") == ["gateway"] for sd in jobs.get("hookline-gateway", {}).get("dns_sd_configs", [])), "prometheus.yml: gateways found by DNS")
    expressions = " ".join(rule.get("expr", "") for group in rules["groups"] for rule in group["rules"])
    for metric in ("hookline_consumergroup_lag", "hookline_consumergroup_status", "hookline_gateway_requests_total",
                   "hookline_monitor_last_success_timestamp_seconds", "hookline_monitor_partitions_unreadable"):
        check(metric in expressions, f"alerts.yml: no rule on {metric}")
    # Statuses 2 (STALLED) and 3 (STOPPED) page; 4 (REWIND, a replay) must not, so no ">= 2".
    for rule in (rule for group in rules["groups"] for rule in group["rules"]):
        expr = rule.get("expr", "")
        if "hookline_consumergroup_status" in expr:
            check(not re.search(r"hookline_consumergroup_status\)?\s*(>=?|!=)", expr),
                  f"alerts.yml: {rule.get('alert')} should select STALLED (2) and STOPPED (3) only, not REWIND (4): {expr}")
    # Gateway metric names as GatewayMetrics.swift builds them (namespace_subsystem_name_unit).
    source = read("Shared/HooklineGateway/GatewayMetrics.swift")
    known = {f"hookline_gateway_{name}" + (f"_{unit}" if unit else "") for name, unit in re.findall(r'Self\.name\(\s*"([a-z_]+)", unit: "([a-z_]*)"', source)}
    for metric in set(re.findall(r"hookline_gateway_[a-z_]+", expressions)):
        check(metric in known, f"alerts.yml: {metric} is not a gateway metric ({', '.join(sorted(known))})")
    # Consumer metric names as ConsumerMetrics.swift builds them: counters through counter(name,
    # help), with the unit "total"; the others through Self.name(name, unit:).
    source = read("Shared/HooklineConsumerKit/ConsumerMetrics.swift")
    known = {f"hookline_consumer_{name}_total" for name in re.findall(r'counter\(\s*"([a-z_]+)"', source)}
    known |= {f"hookline_consumer_{name}" + (f"_{unit}" if unit else "")
              for name, unit in re.findall(r'Self\.name\(\s*"([a-z_]+)", unit: (?:"([a-z_]*)"|nil)', source)}
    check("hookline_consumer_dead_letter_failures_total" in known, f"ConsumerMetrics.swift: metric names not found ({', '.join(sorted(known))})")
    for metric in set(re.findall(r"hookline_consumer_[a-z_]+", expressions)):
        check(metric in known, f"alerts.yml: {metric} is not a consumer metric ({', '.join(sorted(known))})")
    check('status=~"5.."' in expressions, "alerts.yml: the 5xx rule should select status 5..")
    for group in rules["groups"]:
        for rule in group["rules"]:
            check(rule.get("alert") and rule.get("expr") and rule.get("labels", {}).get("severity"), f"alerts.yml: incomplete rule {rule}")
    # Every alert has promtool tests that expect it to fire (run by check-deploy.sh).
    tests = load_yaml("deploy/prometheus/alerts.test.yml")
    firing = {case["alertname"] for test in tests.get("tests", []) for case in test.get("alert_rule_test", []) if case.get("exp_alerts")}
    for group in rules["groups"]:
        for rule in group["rules"]:
            check(rule.get("alert") in firing, f"alerts.test.yml: no test in which {rule.get('alert')} fires")


def check_haproxy(prod, config):
    cfg = read("deploy/haproxy/haproxy.cfg")
    check(re.search(r"server-template\s+\S+\s+\d+\s+gateway:8080\b", cfg), "haproxy.cfg: server-template over gateway:8080")
    check(re.search(r"^resolvers\s+\S+", cfg, re.M) and "parse-resolv-conf" in cfg, "haproxy.cfg: resolvers from resolv.conf")
    check(re.search(r"bind\s+:8080\b", cfg), "haproxy.cfg: bind :8080")
    check("option httpchk GET /readyz" in cfg, "haproxy.cfg: replicas checked on /readyz")
    check("/haproxy/healthz" in cfg and "/haproxy/healthz" in str(prod["services"]["haproxy"]["healthcheck"]["test"]), "haproxy.cfg: monitor-uri used by the healthcheck")
    # The load balancer refuses an announced oversize body as the gateways would, before HAProxy
    # answers 100 Continue and reads it: at the gateways' limit, before it waits for the body.
    limit = str(config["gateway"]["max_body_bytes"])
    refusal = re.search(r"http-request return status 413 .*?(\d+) bytes this gateway accepts.*\bif \{ req\.hdr_val\(content-length\) gt (\d+) \}", cfg)
    check(refusal and refusal.group(1) == refusal.group(2) == limit,
          f"haproxy.cfg: a 413 for a Content-Length over gateway.max_body_bytes ({limit}), naming it")
    check(refusal and "http-request wait-for-body" in cfg[refusal.end():] and "http-buffer-request" not in cfg,
          "haproxy.cfg: the body waited for (http-request wait-for-body, for retries) only after the 413, not with option http-buffer-request, which answers 100 Continue first")


def check_tls(label, compose):
    """compose.tls.yaml: HAProxy gets its certificate as a Compose secret file and publishes 8443
    beside 8080, and haproxy.cfg binds 8443 with it when it is given."""
    haproxy = compose["services"]["haproxy"]
    check_secret_file(label, compose, "haproxy", "HOOKLINE_TLS_CERT", "")
    targets = {target for _, target in published_ports(haproxy)}
    check({8080, 8443} <= targets, f"{label}: haproxy should publish 8080 and 8443, not {sorted(targets)}")
    cfg = read("deploy/haproxy/haproxy.cfg")
    check(re.search(r'^\.if defined\(HOOKLINE_TLS_CERT\)\n\s+bind\s+:8443\s+ssl\s+crt\s+"\$\{HOOKLINE_TLS_CERT\}"', cfg, re.M),
          "haproxy.cfg: bind :8443 ssl crt \"${HOOKLINE_TLS_CERT}\" when HOOKLINE_TLS_CERT is defined")
    # A renewal is loaded through the runtime API (deploy/haproxy/reload-certificate.sh), which
    # must answer on the container's loopback alone: it can replace the certificate.
    check(re.search(r"^\.if defined\(HOOKLINE_TLS_CERT\)\n(\s+#.*\n)*\s+stats socket ipv4@127\.0\.0\.1:9999 level admin\n\.endif", cfg, re.M)
          and len(re.findall(r"^\s*stats socket", cfg, re.M)) == 1,
          "haproxy.cfg: the runtime API (stats socket ipv4@127.0.0.1:9999 level admin) only when HOOKLINE_TLS_CERT is defined, and no other")
    script = "/usr/local/etc/haproxy/reload-certificate.sh"
    check(f"./haproxy/reload-certificate.sh:{script}:ro" in (haproxy.get("volumes") or []),
          f"{label}: haproxy should mount ./haproxy/reload-certificate.sh read-only at {script}")
    check("127.0.0.1/9999" in read("deploy/haproxy/reload-certificate.sh"), "reload-certificate.sh: the runtime API on 127.0.0.1:9999, as haproxy.cfg opens it")


def check_dockerfile():
    text = read("deploy/Dockerfile")
    lines = [line for line in re.sub(r"\\\n", " ", text).splitlines() if line.strip() and not line.lstrip().startswith("#")]
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", "\n".join(lines), re.M))
    stages = []
    for line in lines:
        instruction, _, rest = line.strip().partition(" ")
        if instruction.upper() == "FROM":
            parts = rest.split()
            image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), parts[0])
            stages.append({"image": image, "name": parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else None, "lines": []})
        elif stages:
            stages[-1]["lines"].append((instruction.upper(), rest))
    check(len(stages) >= 2, "Dockerfile: not multi-stage")
    if len(stages) < 2:
        return
    build, runtime = stages[0], stages[-1]
    check(re.fullmatch(r"swift:6\.\d+(\.\d+)?-noble", build["image"]), f"Dockerfile: the build stage should be the official swift:6.x-noble image, not {build['image']}")
    check(runtime["image"] == "ubuntu:noble", f"Dockerfile: the runtime stage should be ubuntu:noble, not {runtime['image']}")
    build_runs = " ".join(rest for instruction, rest in build["lines"] if instruction == "RUN")
    runtime_runs = " ".join(rest for instruction, rest in runtime["lines"] if instruction == "RUN")
    check("librdkafka-dev" in build_runs, "Dockerfile: librdkafka-dev in the build stage")
    check(re.search(r"swift build -c release --static-swift-stdlib", build_runs), "Dockerfile: swift build -c release --static-swift-stdlib")
    check(re.search(r"\blibrdkafka1\b", runtime_runs) and "librdkafka-dev" not in runtime_runs, "Dockerfile: librdkafka1 (not -dev) in the runtime")
    check("curl" in runtime_runs, "Dockerfile: a healthcheck tool (curl) in the runtime")
    check("swift" not in runtime_runs, "Dockerfile: no Swift toolchain in the runtime")
    users = [rest.split(":")[0].strip() for instruction, rest in runtime["lines"] if instruction == "USER"]
    check(users and users[-1] not in ("root", "0"), "Dockerfile: the runtime runs as a non-root USER")
    check(users and re.search(rf"useradd\b.*\b{re.escape(users[-1])}\b", runtime_runs), "Dockerfile: the runtime user is created")
    copies = [rest for instruction, rest in runtime["lines"] if instruction == "COPY" and f"--from={build['name']}" in rest]
    check(copies, "Dockerfile: the runtime copies from the build stage")
    # Every executable product (but the demo and benchmarks) is selected by the build stage's find.
    products = re.findall(r'\.executableTarget\(\s*name:\s*"([^"]+)"', read("Package.swift"))
    patterns = re.findall(r"-name\s+'?([A-Za-z0-9*_.-]+)'?", build_runs)
    excluded = set(re.findall(r"!\s+-name\s+'?([A-Za-z0-9*_.-]+)'?", build_runs))
    included = [p for p in patterns if p not in excluded]
    for product in products:
        wanted = product not in ("hookline-demo", "hookline-bench")
        selected = any(fnmatch.fnmatch(product, p) for p in included) and product not in excluded
        check(selected == wanted, f"Dockerfile: product {product} is {'not ' if wanted else ''}copied into the image")
    # The monitor is among them (compose runs it from the image), so the loop above checked it is copied.
    check("hookline-monitor" in products, "Package.swift: no hookline-monitor executable product, which compose runs")
    workdirs = [rest.strip() for instruction, rest in runtime["lines"] if instruction == "WORKDIR"]
    check(workdirs and re.search(rf"chown\b.*{re.escape(workdirs[-1])}", runtime_runs), "Dockerfile: the working directory (data/) belongs to the runtime user")
    ignore = read(".dockerignore").split()
    for entry in (".build", ".deps", ".state"):
        check(entry in ignore, f".dockerignore: {entry}")


if __name__ == "__main__":
    sys.exit(main())
