#!/usr/bin/env python3
"""`make test-run`: `make run` as a new user meets it, then Ctrl-C.

Starts `make run` in a process group of its own, as a terminal does, with its state in a fresh
folder; waits until it says it is ready; sends a signed GitHub push and a signed Shopify order
through the load balancer with `hookline send`; checks that the push becomes a build in the CI
service and the order an order in the orders service, and that `hookline lag` and the monitor
see the orders group's commit (the monitor also every gateway, up, with both webhooks
published); then sends SIGINT to the process group, as Ctrl-C does, and checks that every process
it started stopped, in reverse order of start, all but the broker with status 0, and nothing is
left running.

Then a second `make run` on the same state: the services keep their databases (the first run's
order is still listed), and the order sent again through the new, empty embedded broker is applied
to it (the orders service must not take the new log for the old one, whose offsets it stored).
This run is stopped with SIGTERM to its process group (`kill -TERM -PGID`), with the same checks.

Environment: RUN_CHECK_STATE (.state/test-run, wiped first), RUN_CHECK_START_SECONDS (1200: a
first `make run` installs and builds everything), RUN_CHECK_STOP_SECONDS (30), HOOKLINE_PORT
(8080, the load balancer, as for `make run`).
"""
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STATE = os.path.abspath(os.environ.get("RUN_CHECK_STATE", os.path.join(ROOT, ".state", "test-run")))
START_SECONDS = float(os.environ.get("RUN_CHECK_START_SECONDS", "1200"))
STOP_SECONDS = float(os.environ.get("RUN_CHECK_STOP_SECONDS", "30"))
BIN = os.path.join(ROOT, ".build", "release")
BASE = f"http://127.0.0.1:{os.environ.get('HOOKLINE_PORT', '8080')}"


def fail(message, output=None):
    print(f"test-run: FAILED: {message}", file=sys.stderr)
    if output and os.path.exists(output):
        with open(output, errors="replace") as f:
            tail = f.read()[-4000:]
        print(f"--- the end of {output}:\n{tail}", file=sys.stderr)
    sys.exit(1)


def get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


def eventually(what, probe, seconds=20):
    """Calls probe until it returns something truthy, for at most `seconds`."""
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            result = probe()
            if result:
                return result
        except Exception as error:  # a service still catching up; reported if it never does
            last = error
        time.sleep(0.2)
    fail(f"{what} (within {seconds:.0f} s; last error: {last})")


def holds(listing, field, value):
    """A service's `{"total", "items"}` listing, when one of its items has `field` = `value`."""
    return listing if any(item.get(field) == value for item in listing["items"]) else None


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def environment(path):
    """The environment after `source .state/env`, as the README has a reader do before `hookline
    send`: make run's secrets and broker, and its binaries on PATH."""
    out = subprocess.run(["bash", "-c", 'source "$1" && env -0', "bash", path],
                         check=True, capture_output=True).stdout.decode()
    return dict(item.split("=", 1) for item in out.split("\0") if "=" in item)


def start(output):
    """Starts `make run` on STATE as a terminal would; returns it once ready, with the processes it
    started, in order."""
    env = dict(os.environ, HOOKLINE_STATE=STATE)

    # A terminal runs the foreground job in a process group of its own with SIGINT at its
    # default; a shell's background job would start with SIGINT ignored, which the runner's
    # trap could not undo.
    def as_a_terminal_would():
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    started = time.monotonic()
    with open(output, "w") as out:
        run = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env,
                               stdout=out, stderr=subprocess.STDOUT,
                               process_group=0, preexec_fn=as_a_terminal_would)
    ready = os.path.join(STATE, "ready")
    while not os.path.exists(ready):
        if run.poll() is not None:
            fail(f"make run exited with status {run.returncode} before it was ready", output)
        if time.monotonic() - started > START_SECONDS:
            os.killpg(run.pid, signal.SIGINT)
            fail(f"make run was not ready within {START_SECONDS:.0f} s", output)
        time.sleep(0.2)
    print(f"test-run: make run ready after {time.monotonic() - started:.1f} s")

    # The processes make run started, in order; its first line names make run itself (for the
    # next run to tell whether this one is still up), which is not among them.
    with open(os.path.join(STATE, "pids")) as f:
        started_order = [(name, int(pid)) for name, pid in (line.split() for line in f if line.strip()) if name != "make-run"]
    return run, started_order


@contextlib.contextmanager
def interrupted_on_error(run):
    """Ctrl-C's make run, and waits for it, when the checks inside fail: no stack outlives them."""
    try:
        yield
    except BaseException:
        os.killpg(run.pid, signal.SIGINT)
        run.wait(STOP_SECONDS)
        raise


def kill_left(started_order):
    """SIGKILLs the processes make run started that still run; names them."""
    left = [(name, pid) for name, pid in started_order if alive(pid)]
    for _, pid in left:
        os.kill(pid, signal.SIGKILL)
    return ", ".join(f"{name} ({pid})" for name, pid in left)


def stop(run, started_order, signum, how, output):
    """Sends `signum` to make run's process group; checks that every process stopped, in reverse
    order of start, all but the broker with status 0, and nothing is left running."""
    names = [name for name, _ in started_order]
    interrupted = time.monotonic()
    os.killpg(run.pid, signum)
    try:
        run.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)
        fail(f"make run still runs {STOP_SECONDS:.0f} s after {how} (SIGKILLed, with {kill_left(started_order) or 'nothing it started'})", output)
    stopped_after = time.monotonic() - interrupted
    left = kill_left(started_order)
    if left:
        fail(f"still running after {how}: {left}", output)

    # The runner reports each process as it stops it: "stopped NAME (status N)".
    with open(output, errors="replace") as f:
        text = f.read()
    reported = [line.split()[1:] for line in text.splitlines() if line.strip().startswith("stopped ")]
    stopped = [(words[0], words[-1].rstrip(")")) for words in reported if len(words) >= 3]
    expected = list(reversed(names))
    if [name for name, _ in stopped] != expected:
        fail(f"stopped in the order {[name for name, _ in stopped]}, not {expected}", output)
    for name, status in stopped:
        if name != "broker" and status != "0":
            fail(f"{name} exited with status {status} when stopped, not 0", output)
    print(f"test-run: {how} stopped all {len(names)} processes in {stopped_after:.1f} s, in reverse order of start: "
          + ", ".join(f"{name} {status}" for name, status in stopped))


def send(source, event, send_env, output):
    """`hookline send SOURCE EVENT` through the load balancer, by its bare name, as the README
    sends it (.state/env puts the binaries on PATH); returns the delivery id."""
    sent = subprocess.run(["hookline", "send", source, event, "--url", BASE],
                          env=send_env, capture_output=True, text=True, timeout=30)
    if sent.returncode != 0:
        fail(f"hookline send {source} {event}: status {sent.returncode}\n{sent.stdout}{sent.stderr}", output)
    print(f"test-run: hookline send {source} {event}: {sent.stdout.strip().splitlines()[0]}")
    return json.loads(sent.stdout.strip().splitlines()[1])["id"]


def order_events(count):
    """The orders service lists the sample's Shopify order (every `send` of it is the same order,
    with a fresh delivery id), having applied `count` events to it."""
    listing = json.loads(get("http://127.0.0.1:8091/orders")[1])
    return listing if [item.get("events") for item in listing["items"] if item.get("source") == "shop"] == [count] else None


def main():
    shutil.rmtree(STATE, ignore_errors=True)
    os.makedirs(STATE)
    output = os.path.join(STATE, "make-run.out")
    run, started_order = start(output)
    names = [name for name, _ in started_order]
    with interrupted_on_error(run):
        for needed in ("broker", "gateway-1", "haproxy", "orders", "payments", "ci", "monitor"):
            if needed not in names:
                fail(f"no {needed} among the processes make run started ({names})", output)

        send_env = environment(os.path.join(STATE, "env"))
        sent_ids = [send(source, event, send_env, output) for source, event in (("github", "push"), ("shop", "orders.create"))]

        # A body announced over gateway.max_body_bytes: the load balancer refuses it as a gateway
        # does, before it tells the client to send it (no 100 Continue) and before reading it.
        with socket.create_connection(("127.0.0.1", int(BASE.rsplit(":", 1)[1])), timeout=5) as connection:
            connection.sendall(b"POST /webhooks/github HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                               b"Content-Length: 2000000\r\nExpect: 100-continue\r\n\r\n")
            answer = connection.recv(4096).decode(errors="replace")
        if not answer.startswith("HTTP/1.1 413") or '"error":"body_too_large"' not in answer:
            fail(f"an announced 2 MB body through the load balancer got, before its body was sent:\n{answer}", output)
        print("test-run: an announced 2 MB body is refused 413 by the load balancer before it is sent")

        # The README's next command: both, as the gateways published them.
        tail = subprocess.run(["hookline", "tail", "--json"], env=send_env, capture_output=True, text=True, timeout=60)
        shown = [(r["id"], r["type"]) for r in json.loads(tail.stdout)["records"]] if tail.returncode == 0 else None
        if shown != list(zip(sent_ids, ("github.push", "shopify.orders.create"))):
            fail(f"hookline tail did not show the two webhooks sent ({sent_ids}): status {tail.returncode}\n{tail.stdout}{tail.stderr}", output)
        print("test-run: hookline tail shows both, as github.push and shopify.orders.create")

        # The push becomes a build in the CI service, the order an order in the orders service.
        for what, url, field, value in (("the order", "http://127.0.0.1:8091/orders", "source", "shop"),
                                        ("the push", "http://127.0.0.1:8093/builds", "trigger", "push")):
            listing = eventually(f"{what} did not reach its service ({url})",
                                 lambda: holds(json.loads(get(url)[1]), field, value))
            print(f"test-run: {what} reached {url}: {listing['total']} item(s)")

        def lag_shows(report):
            """The orders group has committed past the order on its topic."""
            return any(group["group"] == "hookline-orders" and any(
                partition["topic"] == "webhooks.shop.orders.create" and (partition.get("committed") or 0) >= 1
                for partition in group["partitions"]) for group in report["groups"])

        def lag_report():
            lag = subprocess.run(["hookline", "lag", "--json"], env=send_env,
                                 capture_output=True, text=True, timeout=30)
            return lag.returncode == 0 and lag_shows(json.loads(lag.stdout))
        eventually("hookline lag did not show hookline-orders committed on webhooks.shop.orders.create", lag_report)
        print("test-run: hookline lag shows hookline-orders committed on webhooks.shop.orders.create")
        # The monitor looks every interval_seconds (5 in deploy/hookline.yaml), at the lag and at
        # every gateway's /metrics.
        gateways = sum(name.startswith("gateway-") for name in names)

        def monitor_shows():
            status = json.loads(get("http://127.0.0.1:8099/api/status")[1])
            traffic = status["gateways"]
            return (status["lag"] is not None and lag_shows(status["lag"]) and len(traffic) == gateways
                    and all(gateway["up"] for gateway in traffic) and sum(g["published"] for g in traffic) >= 2)
        eventually("the monitor's /api/status did not show hookline-orders committed on webhooks.shop.orders.create "
                   f"and {gateways} gateways up that published both webhooks", monitor_shows, seconds=30)
        print(f"test-run: the monitor's /api/status shows it too, and {gateways} gateways up that published both webhooks")

    # Ctrl-C: SIGINT to the foreground process group.
    stop(run, started_order, signal.SIGINT, "Ctrl-C", output)

    # A second run on the same state: an empty broker, the services' databases kept.
    output = os.path.join(STATE, "make-run-2.out")
    run, started_order = start(output)
    with interrupted_on_error(run):
        eventually("the orders service did not keep the first run's order in its database", lambda: order_events(1))
        send_env = environment(os.path.join(STATE, "env"))
        send("shop", "orders.create", send_env, output)
        eventually("the order sent again through the second run's empty broker was not applied (kept offsets taken for the new log's?)",
                   lambda: order_events(2))
        print("test-run: the second run kept the first run's order, and applied it again when sent through its new broker")
    stop(run, started_order, signal.SIGTERM, "SIGTERM", output)


if __name__ == "__main__":
    main()
