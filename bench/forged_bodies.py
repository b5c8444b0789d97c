"""Forged 1 MB bodies for `make bench-forged`: what the gateway process spends refusing one, for a
Twilio source (whose signature covers the sorted form parameters, so they are read before it can
be checked), a Slack source (a form is looked into for Slack's unsigned certificate check) and a
GitHub source (an HMAC of the raw body) as the yardstick. 40 requests of each, one connection
each, in sequence. Prints one line per source:
FORGED_BODY source=… parameters=… cpu_ms=… wall_ms=… status=…

Loopback only; bounded by the request count.
"""
import argparse, os, time

from forged_http import exchange

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--pid", type=int, required=True, help="the gateway's process id, for its CPU time")
parser.add_argument("--requests", type=int, default=40)
args = parser.parse_args()

ticks = os.sysconf("SC_CLK_TCK")


def cpu_seconds():
    fields = open(f"/proc/{args.pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks


# As many parameters as 1,048,000 bytes hold: 115,912.
form = "&".join(f"p{i}=v" for i in range(200_000)).encode()[: 1_048_000]
parameters = form.count(b"&") + 1
cases = [
    ("twilio", "application/x-www-form-urlencoded", "X-Twilio-Signature: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n"),
    ("slack", "application/x-www-form-urlencoded",
     "X-Slack-Signature: v0=" + "0" * 64 + "\r\nX-Slack-Request-Timestamp: " + str(int(time.time())) + "\r\n"),
    ("github", "application/json", "X-GitHub-Event: push\r\nX-GitHub-Delivery: forged\r\nX-Hub-Signature-256: sha256=" + "0" * 64 + "\r\n"),
]
for source, content_type, headers in cases:
    request = (
        f"POST /webhooks/{source} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n{headers}"
        f"Content-Length: {len(form)}\r\nConnection: close\r\n\r\n"
    ).encode() + form
    cpu_before, started = cpu_seconds(), time.monotonic()
    statuses = {exchange(args.port, request) for _ in range(args.requests)}
    cpu = (cpu_seconds() - cpu_before) / args.requests
    wall = (time.monotonic() - started) / args.requests
    print(f"FORGED_BODY source={source} parameters={parameters} cpu_ms={cpu * 1000:.1f} wall_ms={wall * 1000:.1f} status={','.join(sorted(statuses))}")
