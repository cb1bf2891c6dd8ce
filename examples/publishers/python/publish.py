#!/usr/bin/env python3
"""Example publisher for nats-alerter.

Sends one alerting.v1.AlertEvent with every field set, the RESOLVED event that
ends it, or one alerting.v1.MetricSample, encoded with the code generated from
proto/ (scripts/generate-publisher-code.sh). With "follow" it publishes the
FIRING event and then prints what became of it, from nats-alerter's
state-change events (README, "NATS control plane"), until a notification was
sent or given up:

    python3 publish.py [--server nats://127.0.0.1:4222] [--source simulation-worker-7] firing|resolved|sample|follow

Each message carries the header Nats-Msg-Id (the event_id for events), so
JetStream drops a retried publish within the stream's duplicate window.
"""

import argparse
import asyncio
import sys
import time
import uuid

import nats

from alerting.v1 import alert_event_pb2, metric_sample_pb2, state_event_pb2

ALERT_SUBJECT = "simulation_worker.process_crash"
SAMPLE_SUBJECT = "metrics.memory.percent"


def crash_event(source: str, resolved: bool) -> alert_event_pb2.AlertEvent:
    """The example alert: every field of AlertEvent is set. The RESOLVED event
    carries the same identity (here the dedup_key; without one, the same
    labels) as the FIRING events it ends."""
    return alert_event_pb2.AlertEvent(
        alert_type="process_crash",
        severity=alert_event_pb2.SEVERITY_CRITICAL,
        status=alert_event_pb2.STATUS_RESOLVED if resolved else alert_event_pb2.STATUS_FIRING,
        source=source,
        summary="Worker crashed 3 times in 10 minutes",
        description="The simulation worker exited with SIGSEGV while stepping environment 3; the supervisor restarted it.",
        labels={"cluster": "train-a", "environment": "3"},
        annotations={
            "runbook_url": "https://runbooks.example/process_crash",
            "last_signal": "SIGSEGV",
        },
        occurred_at_unix_ms=time.time_ns() // 1_000_000,
        # One-field oneofs (proto3 optional): setting the field selects it.
        current_value=3.0,
        threshold_value=1.0,
        iteration=120000,
        dedup_key=f"{source}/process_crash",
        event_id=str(uuid.uuid4()),
        generator_url=f"https://grafana.example/d/workers?var-source={source}",
    )


def memory_sample(source: str) -> metric_sample_pb2.MetricSample:
    """An example measurement for nats-alerter's event-stream rules."""
    return metric_sample_pb2.MetricSample(
        name="memory_percent",
        value=91.5,
        labels={"worker": "7"},
        iteration=120000,
        occurred_at_unix_ms=time.time_ns() // 1_000_000,
        source=source,
    )


async def connect(server: str):
    async def quiet(error: Exception) -> None:
        # The default callback prints a traceback per failed attempt; the
        # caller reports the final error once.
        pass

    return await nats.connect(
        server,
        name="publisher-example-python",
        connect_timeout=5,
        max_reconnect_attempts=2,
        reconnect_time_wait=0.5,
        allow_reconnect=False,
        error_cb=quiet,
    )


async def follow(server: str, source: str, prefix: str, wait: float) -> bool:
    """Subscribes to nats-alerter's state-change events, publishes the FIRING
    event, and prints the events about its alert: alert.* events by the
    alert's labels, then notification.* events by the alert's fingerprint.
    True at the first notification outcome, False after `wait` seconds."""
    connection = await connect(server)
    try:
        # Subscribe first: events published before the subscription are not kept.
        events = await connection.subscribe(f"{prefix}.events.>")
        event = crash_event(source, resolved=False)
        await connection.publish(ALERT_SUBJECT, event.SerializeToString(), headers={"Nats-Msg-Id": event.event_id})
        print(f"published firing on {ALERT_SUBJECT}; following {prefix}.events.>", flush=True)
        fingerprint = ""
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = await events.next_msg(timeout=left)
            except asyncio.TimeoutError:
                break
            kind = message.subject.removeprefix(f"{prefix}.events.")
            if kind.startswith("alert."):
                change = state_event_pb2.AlertStateEvent.FromString(message.data)
                if change.labels.get("source") == source and change.labels.get("alertname") == event.alert_type:
                    fingerprint = change.fingerprint
                    print(f"{kind} {change.fingerprint}", flush=True)
                continue
            outcome = state_event_pb2.NotificationStateEvent.FromString(message.data)
            if fingerprint and fingerprint in outcome.fingerprints:
                print(f"{kind} {outcome.receiver} {outcome.integration} attempts={outcome.attempts} {outcome.reason}", flush=True)
                return True
        return False
    finally:
        await connection.close()


async def publish(server: str, subject: str, payload: bytes, msg_id: str) -> None:
    connection = await connect(server)
    try:
        await connection.publish(subject, payload, headers={"Nats-Msg-Id": msg_id})
        # Publish only buffers: flush so the server has the message before exit.
        await connection.flush(timeout=5)
    finally:
        await connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="nats://127.0.0.1:4222", help="NATS server URL")
    parser.add_argument("--source", default="simulation-worker-7", help="the emitting service or instance (the source label)")
    parser.add_argument("--prefix", default="nats_alerter", help="nats-alerter's nats.control.prefix (follow)")
    parser.add_argument("--wait", type=float, default=30, help="seconds follow waits for a notification outcome")
    parser.add_argument("what", choices=["firing", "resolved", "sample", "follow"])
    arguments = parser.parse_args()

    if arguments.what == "follow":
        try:
            followed = asyncio.run(follow(arguments.server, arguments.source, arguments.prefix, arguments.wait))
        except Exception as error:  # connection refused, timeouts: say so and fail
            print(f"publish: {arguments.server}: {error!r}", file=sys.stderr)
            return 1
        if not followed:
            print(f"publish: no notification outcome for the alert within {arguments.wait:g}s", file=sys.stderr)
        return 0 if followed else 1

    if arguments.what == "sample":
        subject, message, msg_id = SAMPLE_SUBJECT, memory_sample(arguments.source), str(uuid.uuid4())
    else:
        event = crash_event(arguments.source, arguments.what == "resolved")
        subject, message, msg_id = ALERT_SUBJECT, event, event.event_id
    payload = message.SerializeToString()
    try:
        asyncio.run(publish(arguments.server, subject, payload, msg_id))
    except Exception as error:  # connection refused, timeouts: say so and fail
        print(f"publish: {arguments.server}: {error!r}", file=sys.stderr)
        return 1
    print(f"published {arguments.what} on {subject} ({len(payload)} bytes, Nats-Msg-Id {msg_id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
