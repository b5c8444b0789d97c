"""Forged Standard Webhooks deliveries for `make bench-forged`: each lists N `v1a` signatures that
no key made, sent at a fixed rate for a fixed time, one connection a request. Every signature's
scalar half is below the group order, so an Ed25519 check cannot reject it early and does all of
its work. Prints one line: FORGED sent=… rate=… statuses=… mean_ms=…

Loopback only; bounded by --seconds.
"""
import argparse, base64, collections, os, threading, time

from forged_http import exchange

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--source", default="svix")
parser.add_argument("--signatures", type=int, required=True)
parser.add_argument("--rate", type=float, required=True)
parser.add_argument("--seconds", type=float, required=True)
args = parser.parse_args()


def signature():
    raw = bytearray(os.urandom(64))
    raw[63] &= 0x0F  # S < 2^252 < the group order
    return "v1a," + base64.b64encode(bytes(raw)).decode()


def request():
    body = b'{"type":"invoice.paid","data":{}}'
    head = (
        f"POST /webhooks/{args.source} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"webhook-id: msg_forged\r\nwebhook-timestamp: {int(time.time())}\r\n"
        f"webhook-signature: {' '.join(signature() for _ in range(args.signatures))}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


requests = [request() for _ in range(8)]
threads = 4
stop = time.monotonic() + args.seconds
statuses = collections.Counter()
elapsed = []
lock = threading.Lock()


def run(offset):
    interval, due, k = threads / args.rate, time.monotonic() + offset / args.rate, offset
    while time.monotonic() < stop:
        time.sleep(max(0.0, due - time.monotonic()))
        started = time.perf_counter()
        status = exchange(args.port, requests[k % len(requests)])
        took = time.perf_counter() - started
        with lock:
            statuses[status] += 1
            elapsed.append(took)
        due += interval
        k += 1


workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
sent = sum(statuses.values())
print(
    f"FORGED signatures={args.signatures} sent={sent} rate={sent / args.seconds:.0f} "
    f"statuses={','.join(f'{k}:{v}' for k, v in sorted(statuses.items()))} "
    f"mean_ms={1000 * sum(elapsed) / max(1, len(elapsed)):.1f} bytes={len(requests[0])}"
)
