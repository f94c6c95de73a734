#!/usr/bin/env python3
"""A stock Kafka client (kafka-python) for end-to-end tests: produce a request exactly as an
upstream service would, and consume the completion events and check them field by field
against the contract samples. Independent of the service's own Kafka client (librdkafka).

  kafka_client.py produce --brokers HOST:PORT --topic T --key K --file request.json
  kafka_client.py expect  --brokers HOST:PORT --group G --timeout 60 \
        --topic TOPIC=SAMPLE.json [--topic TOPIC=SAMPLE.json ...]

`expect` waits for one message per topic, checks the envelope and its `data` against the
sample (same keys at every level, same JSON types; a null in either is accepted where the
sample shows the field as optional), prints the messages as one JSON object keyed by topic,
and exits 1 with the differences otherwise.
"""
import argparse
import json
import sys
import time

from kafka import KafkaConsumer, KafkaProducer


def kind(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# Objects whose keys are data, not schema: compared by value type only. The anchor grade
# distribution lists the grades of the batch's scale (the old service's sample shows A-F, U).
MAPS = {"anchor_grade_distribution"}


def shape_differences(actual, sample, path="$"):
    """Differences in keys and JSON types between a message and its contract sample."""
    problems = []
    a, s = kind(actual), kind(sample)
    if "null" in (a, s):
        return problems
    if a != s:
        return [f"{path}: {a} where the sample has {s}"]
    if a == "object" and path.rsplit(".", 1)[-1] in MAPS:
        kinds = {kind(v) for v in sample.values()}
        return [f"{path}.{k}: {kind(v)} where the sample's values are {kinds}"
                for k, v in actual.items() if kind(v) not in kinds]
    if a == "object":
        missing = sorted(set(sample) - set(actual))
        extra = sorted(set(actual) - set(sample))
        if missing:
            problems.append(f"{path}: missing {missing}")
        if extra:
            problems.append(f"{path}: unexpected {extra}")
        for key in set(sample) & set(actual):
            problems += shape_differences(actual[key], sample[key], f"{path}.{key}")
    elif a == "array" and sample and actual:
        for i, item in enumerate(actual):
            problems += shape_differences(item, sample[0], f"{path}[{i}]")
    return problems


def produce(args):
    with open(args.file, encoding="utf-8") as handle:
        payload = json.load(handle)
    producer = KafkaProducer(bootstrap_servers=args.brokers, acks="all")
    producer.send(args.topic, key=args.key.encode(), value=json.dumps(payload).encode()).get(timeout=30)
    producer.flush()
    producer.close()
    print(f"produced 1 message to {args.topic}")


def expect(args):
    wanted = dict(pair.split("=", 1) for pair in args.topic)
    samples = {}
    for topic, path in wanted.items():
        with open(path, encoding="utf-8") as handle:
            samples[topic] = json.load(handle)
    consumer = KafkaConsumer(
        *wanted,
        bootstrap_servers=args.brokers,
        group_id=args.group,
        auto_offset_reset="earliest",
        enable_auto_commit=True,
        fetch_max_wait_ms=20,
        consumer_timeout_ms=1000,
    )
    received = {}
    deadline = time.time() + args.timeout
    while time.time() < deadline and len(received) < len(wanted):
        for message in consumer:
            received.setdefault(message.topic, []).append(
                {"key": message.key.decode() if message.key else None, "value": json.loads(message.value)}
            )
            if len(received) == len(wanted):
                break
    consumer.commit()
    consumer.close()
    problems = []
    for topic, sample in samples.items():
        if topic not in received:
            problems.append(f"{topic}: nothing arrived within {args.timeout}s")
            continue
        envelope = received[topic][0]["value"]
        problems += [f"{topic} envelope {p}" for p in shape_differences(envelope, {**sample_envelope(), "data": sample})]
    print(json.dumps(received))
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)


def sample_envelope():
    with open(ENVELOPE_SAMPLE, encoding="utf-8") as handle:
        envelope = json.load(handle)
    envelope["metadata"] = None
    return envelope


ENVELOPE_SAMPLE = "tests/fixtures/contracts/request_envelope.json"

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("produce")
    p.add_argument("--brokers", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--file", required=True)
    e = commands.add_parser("expect")
    e.add_argument("--brokers", required=True)
    e.add_argument("--group", required=True)
    e.add_argument("--timeout", type=float, default=60)
    e.add_argument("--topic", action="append", required=True)
    e.add_argument("--envelope-sample", default=ENVELOPE_SAMPLE)
    args = parser.parse_args()
    ENVELOPE_SAMPLE = getattr(args, "envelope_sample", ENVELOPE_SAMPLE)
    produce(args) if args.command == "produce" else expect(args)
