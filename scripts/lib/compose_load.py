#!/usr/bin/env python3
"""Signed Shopify orders/create webhooks at a steady rate, a command run once part of them is
sent (make test-compose: `podman kill` of one gateway), then an account of every acknowledged
order in the orders service.

  compose_load.py --url http://127.0.0.1:8080/webhooks/shop --secret S --orders-url http://127.0.0.1:8091
                  --count 600 --rate 100 --kill-at 200 --kill-cmd 'podman kill hookline_gateway_2'

Prints the figures and exits 1 when an acknowledged (2xx) order is missing from the orders service.
Standard library only.
"""

import argparse
import base64
import collections
import hashlib
import hmac
import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid


def sign_shopify(secret: bytes, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()


class Sender:
    def __init__(self, args):
        self.args = args
        self.url = urllib.parse.urlsplit(args.url)
        self.secret = args.secret.encode()
        self.lock = threading.Lock()
        self.next_index = 0
        self.started = time.monotonic()
        self.acked: list[str] = []
        self.refused = collections.Counter()  # status (or error) -> count
        self.kill_done = threading.Event()
        self.kill_failed = False
        self.acked_after_kill = 0
        self.base_id = int(time.time()) * 100000

    def take(self):
        with self.lock:
            if self.next_index >= self.args.count:
                return None
            index = self.next_index
            self.next_index += 1
        due = self.started + index / self.args.rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if index == self.args.kill_at and self.args.kill_cmd:
            threading.Thread(target=self.kill, daemon=True).start()
        return index

    def kill(self):
        result = subprocess.run(self.args.kill_cmd, shell=True, capture_output=True, text=True)
        print(f"load: after {self.args.kill_at} sent, ran `{self.args.kill_cmd}` (exit {result.returncode})", flush=True)
        if result.returncode != 0:
            print(result.stderr, file=sys.stderr)
            self.kill_failed = True
        self.kill_done.set()

    def connection(self):
        return http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=15)

    def worker(self):
        conn = self.connection()
        while (index := self.take()) is not None:
            order_id = str(self.base_id + index)
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            body = json.dumps({
                "id": int(order_id), "total_price": f"{10 + index % 90}.00", "currency": "EUR",
                "email": f"buyer{index}@example.com", "created_at": now, "updated_at": now,
            }, separators=(",", ":")).encode()
            headers = {
                "Content-Type": "application/json",
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Hmac-Sha256": sign_shopify(self.secret, body),
                "X-Shopify-Shop-Domain": "hookline-test.myshopify.com",
                "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                "X-Shopify-Event-Id": f"order-{order_id}",
            }
            after_kill = self.kill_done.is_set()
            try:
                conn.request("POST", self.url.path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = self.connection()
            except (OSError, http.client.HTTPException) as error:
                status = type(error).__name__
                conn.close()
                conn = self.connection()
            with self.lock:
                if isinstance(status, int) and 200 <= status < 300:
                    self.acked.append(order_id)
                    if after_kill:
                        self.acked_after_kill += 1
                else:
                    self.refused[status] += 1
        conn.close()

    def run(self):
        threads = [threading.Thread(target=self.worker) for _ in range(self.args.concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.monotonic() - self.started


def stored_orders(orders_url: str) -> set[str]:
    parts = urllib.parse.urlsplit(orders_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    ids: set[str] = set()
    offset = 0
    try:
        while True:
            conn.request("GET", f"/orders?limit=500&offset={offset}")
            response = conn.getresponse()
            page = json.loads(response.read())
            ids.update(item["id"] for item in page["items"])
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                return ids
    finally:
        conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--orders-url", required=True)
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--rate", type=float, default=100.0, help="webhooks per second")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--kill-at", type=int, default=-1)
    parser.add_argument("--kill-cmd", default="")
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for the orders service")
    parser.add_argument("--missing-out", help="a file to write the ids of acknowledged orders missing from the service to, one a line")
    args = parser.parse_args()

    sender = Sender(args)
    elapsed = sender.run()
    acked = set(sender.acked)
    refused = ", ".join(f"{status}: {count}" for status, count in sorted(sender.refused.items(), key=str)) or "none"
    print(f"load: sent {args.count} in {elapsed:.1f} s, acknowledged {len(acked)}, refused {sum(sender.refused.values())} ({refused})", flush=True)
    if args.kill_cmd:
        print(f"load: acknowledged after the kill: {sender.acked_after_kill}", flush=True)

    deadline = time.monotonic() + args.wait
    while True:
        try:
            found = acked & stored_orders(args.orders_url)
        except (OSError, http.client.HTTPException, ValueError, KeyError) as error:
            print(f"load: orders service: {error}", file=sys.stderr)
            found = set()
        if found == acked or time.monotonic() > deadline:
            break
        time.sleep(1)
    missing = sorted(acked - found)
    print(f"load: figures: sent={args.count} acked={len(acked)} found={len(found)} missing={len(missing)}", flush=True)
    if missing:
        print(f"load: acknowledged but not in the orders service: {' '.join(missing[:20])}{' …' if len(missing) > 20 else ''}", file=sys.stderr)
        if args.missing_out:
            with open(args.missing_out, "w") as out:
                out.write("".join(f"{order}\n" for order in missing))
        return 1
    if not acked:
        print("load: nothing was acknowledged", file=sys.stderr)
        return 1
    if args.kill_cmd and (not sender.kill_done.is_set() or sender.kill_failed):
        print("load: the gateway was not killed, so the run proves nothing about losing one", file=sys.stderr)
        return 1
    if args.kill_cmd and sender.acked_after_kill == 0:
        print("load: no webhook was acknowledged after the kill", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
