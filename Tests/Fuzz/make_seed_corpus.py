#!/usr/bin/env python3
"""Writes the committed seed corpus under Tests/Fuzz/corpus/<target>/.

Each seed is a file named after what it is. The hostile inputs of issue 13
are here on purpose (huge and negative times, NaN/Infinity values, year
5000, deep nesting, invalid UTF-8, oversized label sets, pathological
regexes). Re-run after changing it; the files are committed so the fuzzers
and FuzzCorpusTests start from the same inputs.
"""
import os
import struct
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def key(field, wire):
    return varint(field << 3 | wire)


def f_varint(field, n):
    return key(field, 0) + varint(n)


def f_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return key(field, 2) + varint(len(data)) + data


def f_double(field, x):
    return key(field, 1) + struct.pack("<d", x)


def f_map(field, pairs):
    return b"".join(f_bytes(field, f_bytes(1, k) + f_bytes(2, v)) for k, v in pairs)


def event(alert_type="disk_full", severity=4, status=0, source="node-1", labels=(), occurred=1_800_000_000_000,
          current=None, threshold=None, iteration=None, dedup="", generator="", summary="disk almost full"):
    out = f_bytes(1, alert_type) + f_varint(2, severity)
    if status:
        out += f_varint(3, status)
    out += f_bytes(4, source) + f_bytes(5, summary) + f_map(7, labels) + f_varint(9, occurred)
    if current is not None:
        out += f_double(10, current)
    if threshold is not None:
        out += f_double(11, threshold)
    if iteration is not None:
        out += f_varint(12, iteration)
    if dedup:
        out += f_bytes(13, dedup)
    if generator:
        out += f_bytes(15, generator)
    return out


def sample(name="memory_percent", value=85.0, labels=(("node", "n3"),), iteration=None, occurred=1_800_000_000_000, source="n3"):
    out = f_bytes(1, name) + f_double(2, value) + f_map(3, labels)
    if iteration is not None:
        out += f_varint(4, iteration)
    return out + f_varint(5, occurred) + f_bytes(6, source)


INT64_MAX = 9223372036854775807
YEAR_5000_MS = 95_617_584_000_000
BIG_LABELS = tuple((f"l{i}", "v" * 64) for i in range(500))


def protobuf_event_seeds():
    seeds = {
        "valid_firing": event(),
        "valid_resolved": event(status=1),
        "valid_values": event(current=93.5, threshold=90.0, iteration=7, labels=(("node", "n1"), ("team", "db"))),
        "occurred_int64_max": event(occurred=INT64_MAX),
        "occurred_int64_min_plus_one": event(occurred=-INT64_MAX),
        "occurred_year_5000": event(occurred=YEAR_5000_MS),
        "occurred_negative": event(occurred=-1),
        "current_nan": event(current=float("nan")),
        "threshold_infinity": event(threshold=float("inf")),
        "current_minus_infinity": event(current=float("-inf")),
        "current_huge": event(current=1.7976931348623157e308),
        "iteration_min": event(iteration=-(1 << 63)),
        "labels_oversized": event(labels=BIG_LABELS),
        "label_invalid_utf8": event(labels=((b"node".decode(), "x"),)) + f_map(7, ()) + f_bytes(7, f_bytes(1, b"\xff\xfe") + f_bytes(2, b"\xc3\x28")),
        "alert_type_invalid_utf8": f_bytes(1, b"\xed\xa0\x80") + f_varint(2, 4),
        "severity_unknown": event(severity=99),
        "generator_url_slack_mention": event(generator="<!channel>|click"),
        "truncated": event()[:-3],
        "wrong_wire_type": key(1, 0) + varint(5),
        "length_overflow": key(1, 2) + varint(1 << 62),
        "dedup_key_long": event(dedup="k" * 5000),
    }
    return seeds


def duplicate_path_seeds():
    """Pairs for fuzz-duplicate-path: byte 0 picks subject and limits, bytes
    1-2 the prefix length; the prefix is applied twice, then the candidate."""
    def pair(prefix, candidate, selector=0):
        return bytes([selector]) + struct.pack("<H", len(prefix)) + prefix + candidate
    labels = (("node", "n1"), ("team", "db"))
    base = event(labels=labels, current=93.5, threshold=90.0, iteration=7) + f_map(8, (("runbook", "https://runbooks.example/x"),))
    seeds = {name: pair(data, data) for name, data in protobuf_event_seeds().items()}
    seeds.update({
        "repeat_labels_reordered": pair(base, event(labels=labels[::-1], current=93.5, threshold=90.0, iteration=7)
                                        + f_map(8, (("runbook", "https://runbooks.example/x"),))),
        "repeat_new_summary": pair(base, base.replace(b"disk almost full", b"disk really full")),
        "repeat_without_annotations": pair(base, event(labels=labels, summary="")),
        "repeat_resolved": pair(base, event(labels=labels, status=1)),
        "repeat_protobuf_header": pair(base, base, selector=4),
        "repeat_tight_limits": pair(base, base, selector=8),
        "repeat_alertname_from_subject": pair(event(alert_type="", labels=labels), event(alert_type="", labels=labels), selector=2),
        "repeat_labels_shadow_derived": pair(event(labels=(("source", "x"), ("alertname", "y"), ("severity", ""))),
                                             event(labels=(("source", "x"), ("alertname", "y"), ("severity", "")))),
        "repeat_dedup_key": pair(event(dedup="k1"), event(dedup="k1", labels=labels)),
        "repeat_nul_in_label": pair(event(labels=(("node", "n1"),)), event(labels=(("node", "n1\x00x"),))),
    })
    return seeds


def json_event_seeds():
    deep = '{"alertType":"x","labels":' + '{"a":' * 5000 + '"v"' + '}' * 5000 + '}'
    deep_arrays = '[' * 20000 + ']' * 20000
    big_labels = '{"alertType":"x","labels":{' + ",".join(f'"l{i}":"{"v" * 64}"' for i in range(500)) + '}}'
    seeds = {
        "valid_firing": '{"alertType":"disk_full","severity":"SEVERITY_CRITICAL","source":"node-1","labels":{"node":"n1"},"occurredAtUnixMs":"1800000000000"}',
        "valid_resolved": '{"alertType":"disk_full","status":"resolved","source":"node-1"}',
        "valid_values": '{"alertType":"high_memory","currentValue":93.5,"thresholdValue":90,"iteration":"7"}',
        "occurred_int64_max": '{"alertType":"x","occurredAtUnixMs":"9223372036854775807"}',
        "occurred_int64_min_plus_one": '{"alertType":"x","occurredAtUnixMs":"-9223372036854775807"}',
        "occurred_number_int64_max": '{"alertType":"x","occurredAtUnixMs":9223372036854775807}',
        "occurred_year_5000": '{"alertType":"x","occurredAtUnixMs":"%d"}' % YEAR_5000_MS,
        "occurred_exponent": '{"alertType":"x","occurredAtUnixMs":1e300}',
        "occurred_fraction": '{"alertType":"x","occurredAtUnixMs":1.5}',
        "current_nan": '{"alertType":"x","currentValue":"NaN"}',
        "threshold_infinity": '{"alertType":"x","thresholdValue":"Infinity"}',
        "current_minus_infinity": '{"alertType":"x","currentValue":"-Infinity"}',
        "current_huge_number": '{"alertType":"x","currentValue":1e309}',
        "iteration_huge": '{"alertType":"x","iteration":"99999999999999999999999"}',
        "severity_number_huge": '{"alertType":"x","severity":4294967296}',
        "deep_nesting_objects": deep,
        "deep_nesting_arrays": deep_arrays,
        "labels_oversized": big_labels,
        "labels_not_strings": '{"alertType":"x","labels":{"a":1,"b":null}}',
        "empty_object": '{}',
        "not_object": '"just a string"',
        "generator_url_injection": '{"alertType":"x","generatorUrl":"<!channel>|@U024BE7LH"}',
    }
    out = {k: v.encode() for k, v in seeds.items()}
    out["invalid_utf8"] = b'{"alertType":"\xff\xfe\xc3\x28","source":"\xed\xa0\x80"}'
    out["nul_bytes"] = b'{"alertType":"a\x00b"}'
    return out


def sample_seeds():
    return {
        "valid": sample(),
        "value_nan": sample(value=float("nan")),
        "value_infinity": sample(value=float("inf")),
        "value_minus_infinity": sample(value=float("-inf")),
        "iteration_max": sample(iteration=INT64_MAX),
        "occurred_int64_max": sample(occurred=INT64_MAX),
        "occurred_year_5000": sample(occurred=YEAR_5000_MS),
        "labels_oversized": sample(labels=BIG_LABELS),
        "json_valid": b'{"name":"memory_percent","value":85,"labels":{"node":"n3"}}',
        "json_nan": b'{"name":"memory_percent","value":"NaN"}',
        "json_infinity": b'{"name":"memory_percent","value":"Infinity","occurredAtUnixMs":"9223372036854775807"}',
        "truncated": sample()[:-2],
    }


def matcher_seeds():
    seeds = {
        "equal": 'alertname="disk_full"',
        "list": '{alertname="disk_full", severity=~"critical|warning", team!="db", node!~"n[0-9]+"}',
        "unquoted": "alertname=disk_full",
        "catastrophic_regex": 'victim=~"(a+)+b"',
        "nested_quantifiers": 'victim=~"((a*)*)*(b|c)+$"',
        "backreference": r'victim=~"(a)\1"',
        "huge_repeat": 'victim=~"a{1000}{1000}"',
        "unterminated": 'alertname="disk',
        "escapes": r'alertname="a\"b\\c\n"',
        "utf8_name": 'nämé="välue"',
        "empty": "",
        "braces_only": "{}",
        "many": "{" + ",".join(f'l{i}="v"' for i in range(2000)) + "}",
    }
    out = {k: v.encode() for k, v in seeds.items()}
    out["invalid_utf8"] = b'alertname="\xff\xfe"'
    return out


def config_seeds():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    seeds = {}
    for name in ("config/alerter.yaml", "config/compose/alerter.yaml"):
        with open(os.path.join(repo, name), "rb") as f:
            seeds[name.replace("/", "_").replace(".yaml", "")] = f.read()
    seeds["minimal"] = b'nats: {subjects: ["system.>"]}\n'
    seeds["secrets_and_server"] = (b'nats: {subjects: ["a.>"]}\nserver: {listen_address: "127.0.0.1:9094", allowed_origins: ["https://a.example"],'
                                   b' limits: {max_silences: 5}}\nglobal: {smtp_auth_password: x, slack_api_url: "https://hooks.example/x"}\n')
    seeds["anchors_bomb"] = (b'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n'
                             b'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\nnats: {subjects: ["a.>"]}\n')
    seeds["deep_nesting"] = b"nats: " + b"[" * 5000 + b"]" * 5000 + b"\n"
    seeds["huge_numbers"] = b'nats: {subjects: ["a.>"], limits: {max_labels: 99999999999999999999999}}\nstate: {max_active_alerts: -9223372036854775808}\n'
    seeds["durations"] = b'nats: {subjects: ["a.>"]}\nglobal: {resolve_timeout: 9999999999999999h}\nroute: {receiver: r, group_wait: 106751991167d}\nreceivers: [{name: r}]\n'
    seeds["regex_matchers"] = b'nats: {subjects: ["a.>"]}\nroute: {receiver: r, routes: [{receiver: r, matchers: [\'victim=~"(a+)+b"\']}]}\nreceivers: [{name: r}]\n'
    seeds["invalid_utf8"] = b'nats: {subjects: ["\xff\xfe"]}\n'
    return seeds


def silence_api_seeds():
    good = ('{"matchers":[{"name":"alertname","value":"disk_full","isRegex":false,"isEqual":true}],'
            '"startsAt":"2027-01-15T08:00:00.000Z","endsAt":"2027-01-15T10:00:00.000Z","createdBy":"oncall","comment":"replacing disk"}')
    seeds = {
        "valid": good,
        "regex": good.replace('"isRegex":false', '"isRegex":true').replace("disk_full", "(a+)+b"),
        "year_5000": good.replace("2027-01-15T10", "5000-01-15T10"),
        "year_zero": good.replace("2027-01-15T08", "0000-01-01T00"),
        "huge_fraction": good.replace("08:00:00.000Z", "08:00:00.99999999999999999999Z"),
        "offset_times": good.replace(".000Z", "+14:00"),
        "matchers_not_list": '{"matchers":{"name":"a"}}',
        "many_matchers": '{"matchers":[' + ",".join('{"name":"l%d","value":"v","isRegex":false}' % i for i in range(500)) + "]}",
        "deep": '{"matchers":' + "[" * 5000 + "]" * 5000 + "}",
        "filter_lines": 'alertname="x"\n{severity=~"crit.*"}\nvictim=~"(a+)+b"',
        "numbers": '{"matchers":[{"name":1e999,"value":-0,"isRegex":1}],"startsAt":9223372036854775807}',
    }
    out = {k: v.encode() for k, v in seeds.items()}
    out["invalid_utf8"] = good.encode().replace(b"oncall", b"\xff\xfe")
    return out


def main():
    targets = {
        "fuzz-protobuf-event": protobuf_event_seeds(),
        "fuzz-json-event": json_event_seeds(),
        "fuzz-sample": sample_seeds(),
        "fuzz-matcher": matcher_seeds(),
        "fuzz-config": config_seeds(),
        "fuzz-silence-api": silence_api_seeds(),
        "fuzz-duplicate-path": duplicate_path_seeds(),
    }
    for target, seeds in targets.items():
        folder = os.path.join(ROOT, target)
        os.makedirs(folder, exist_ok=True)
        for name, data in seeds.items():
            if isinstance(data, str):
                data = data.encode()
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
    print(f"wrote {sum(len(s) for s in targets.values())} seeds under {ROOT}", file=sys.stderr)


if __name__ == "__main__":
    main()
