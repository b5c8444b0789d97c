#!/usr/bin/env python3
"""Peer gateway for `make bench-gateway`: the same work as Hookline's GitHub route, in Python.

POST /webhooks/{source}: verify X-Hub-Signature-256 (HMAC-SHA256 of the raw body, constant-time
compare), publish the raw body to `webhooks.<source>.<event>` (key repository.full_name, CloudEvents
binary-mode headers), and answer 202 {"id","topic","partition","offset"} only once the broker has
acknowledged it (acks=all, idempotent producer); 503 on a delivery error or timeout, 401 on a bad
signature, 400 when X-GitHub-Event or X-GitHub-Delivery is missing.

One process, one event loop, one Producer: a single Python process is the fair comparison to one
gateway process (both get the same 2 cores; librdkafka's own threads run outside the GIL in both).
Topics are created on first use through the admin API (--partitions each).

    python github_gateway.py --listen 127.0.0.1:8080 --brokers 127.0.0.1:9092 --secret S
"""
import argparse
import asyncio
import hmac
import json
import re
import threading

from aiohttp import web
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

_UNSAFE_EVENT = re.compile(r"[^a-z0-9._-]")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def json_error(status, message):
    return web.json_response({"error": message}, status=status)


class Gateway:
    def __init__(self, brokers, secret, ack_timeout_ms, partitions, properties):
        self.secret = secret.encode()
        self.ack_timeout = ack_timeout_ms / 1000
        self.partitions = partitions
        self.producer = Producer({
            "bootstrap.servers": brokers,
            "client.id": "peer-github-gateway",
            "acks": "all",
            "enable.idempotence": True,
            # The --ack-timeout-ms: librdkafka reports every message by then (_MSG_TIMED_OUT at
            # worst), so a request waits at most that long with no timer of its own.
            "message.timeout.ms": ack_timeout_ms,
            # --property: the bench passes the gateway's producer settings (linger.ms,
            # batch.num.messages), so both batch alike.
            **properties,
        })
        self.admin = AdminClient({"bootstrap.servers": brokers})
        self.topics = {}  # topic -> asyncio.Future that resolves once it exists
        self.loop = None
        self.reports = []  # (future, err, msg) collected by the poll thread
        self.running = True
        self.poller = threading.Thread(target=self._poll, name="kafka-poll", daemon=True)

    # --- delivery reports: librdkafka -> poll thread -> event loop ---------------------------
    def _poll(self):
        # poll() serves delivery callbacks on this thread (GIL released while it waits); the
        # reports of one poll() go to the loop in one call_soon_threadsafe, not one wake-up each.
        while self.running or len(self.producer):
            self.producer.poll(0.1)
            if self.reports:
                batch, self.reports = self.reports, []
                self.loop.call_soon_threadsafe(self._resolve, batch)

    @staticmethod
    def _resolve(batch):
        for fut, err, msg in batch:
            if fut.done():  # the request timed out or the client went away
                continue
            if err is None:
                fut.set_result(msg)
            else:
                fut.set_exception(KafkaException(err))

    # --- topics -----------------------------------------------------------------------------
    async def ensure_topic(self, topic):
        fut = self.topics.get(topic)
        if fut is None:
            fut = self.topics[topic] = asyncio.ensure_future(self._create(topic))
        try:
            await asyncio.shield(fut)
        except Exception:
            if self.topics.get(topic) is fut:
                del self.topics[topic]  # retried by the next request
            raise

    async def _create(self, topic):
        created = self.admin.create_topics([NewTopic(topic, self.partitions, 1)], request_timeout=10)
        try:
            await asyncio.wrap_future(created[topic])
        except KafkaException as e:
            if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise

    # --- the route ----------------------------------------------------------------------------
    async def handle(self, request):
        body = await request.read()
        headers = request.headers
        signature = headers.get("X-Hub-Signature-256", "")
        try:
            given = bytes.fromhex(signature[7:]) if signature.startswith("sha256=") else b""
        except ValueError:
            given = b""
        if not hmac.compare_digest(given, hmac.digest(self.secret, body, "sha256")):
            return json_error(401, "bad signature")
        event = headers.get("X-GitHub-Event")
        delivery = headers.get("X-GitHub-Delivery")
        if not event or not delivery:
            return json_error(400, "X-GitHub-Event and X-GitHub-Delivery are required")

        source = _UNSAFE_NAME.sub("_", request.match_info["source"])
        topic = f"webhooks.{source}.{_UNSAFE_EVENT.sub('_', event.lower().replace('/', '.'))}"
        try:
            key = json.loads(body)["repository"]["full_name"]
        except (ValueError, KeyError, TypeError):
            key = None

        if topic not in self.topics or not self.topics[topic].done():
            try:
                await self.ensure_topic(topic)
            except Exception as e:
                return json_error(503, f"cannot create {topic}: {e}")

        fut = self.loop.create_future()
        try:
            self.producer.produce(
                topic, body, key,
                headers=[
                    ("ce_specversion", b"1.0"),
                    ("ce_id", delivery.encode()),
                    ("ce_source", f"/webhooks/{source}".encode()),
                    ("ce_type", f"github.{event}".encode()),
                    ("content-type", headers.get("Content-Type", "application/json").encode()),
                ],
                on_delivery=lambda err, msg: self.reports.append((fut, err, msg)),
            )
        except (BufferError, KafkaException) as e:
            return json_error(503, f"not queued: {e}")
        try:
            msg = await fut  # no timer per request: message.timeout.ms bounds the wait
        except KafkaException as e:
            return json_error(503, f"not delivered: {e}")
        return web.json_response(
            {"id": delivery, "topic": topic, "partition": msg.partition(), "offset": msg.offset()},
            status=202,
        )

    # --- lifecycle ----------------------------------------------------------------------------
    async def start(self, app):
        self.loop = asyncio.get_running_loop()
        self.poller.start()

    async def stop(self, app):
        self.running = False
        await asyncio.get_running_loop().run_in_executor(None, self.producer.flush, self.ack_timeout)
        self.poller.join(self.ack_timeout + 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:8080", help="HOST:PORT")
    parser.add_argument("--brokers", required=True, help="bootstrap servers, HOST:PORT[,...]")
    parser.add_argument("--secret", required=True, help="GitHub webhook secret")
    parser.add_argument("--ack-timeout-ms", type=int, default=5000)
    parser.add_argument("--partitions", type=int, default=6, help="for topics created on first use")
    parser.add_argument("--property", action="append", default=[], metavar="KEY=VALUE",
                        help="a librdkafka producer property (repeatable); pass the gateway's")
    args = parser.parse_args()
    properties = dict(p.split("=", 1) for p in args.property)
    host, _, port = args.listen.rpartition(":")

    gateway = Gateway(args.brokers, args.secret, args.ack_timeout_ms, args.partitions, properties)
    app = web.Application()
    app.router.add_post("/webhooks/{source}", gateway.handle)
    app.on_startup.append(gateway.start)
    app.on_cleanup.append(gateway.stop)
    try:
        import uvloop  # what a production aiohttp service would run on
        loop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    web.run_app(app, host=host, port=int(port), access_log=None, print=None, loop=loop)


if __name__ == "__main__":
    main()
