#!/usr/bin/env python3
"""Time pyiso8583 encode/decode of the 20-field 0200 purchase that `posconf bench codec` and
benches/codec.rs time (same field values), for the README's ratio. Run by hand:

    pip install pyiso8583==4.0.1
    python3 hil-rig/bench/pyiso8583_bench.py
"""
import os
import platform
import sys
import timeit

import iso8583

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "vectors"))
from cup_spec import SPEC, to_wire  # noqa: E402

FIELDS = {
    "2": "6225881234567890", "3": "000000", "4": "000000000100", "11": "000002", "14": "2512",
    "22": "051", "23": "001", "25": "00", "26": "12", "35": "6225881234567890=2512201123456789",
    "36": "99" + "6225881234567890" + "=" + "1" * 85, "41": "12345678", "42": "898110048120001",
    "49": "156", "52": "4AF9E141A5EE0E3B", "53": "2600000000000000",
    "55": "9F2608A1B2C3D4E5F607189F2701809F101307010103A0A802010A010000000000ABCDEF019F3704DEADBEEF",
    "60": "22000001000501", "63": "CUP", "64": "4635373643303533",
}

doc = {"t": "0200", **to_wire(FIELDS)}
body, _ = iso8583.encode(dict(doc), SPEC)
body = bytes(body)


def best(stmt, n):
    # Best of 5 runs of n, in ns per op: the least disturbed figure on a shared machine.
    return min(timeit.repeat(stmt, number=n, repeat=5)) / n * 1e9


enc = best(lambda: iso8583.encode(dict(doc), SPEC), 20000)
dec = best(lambda: iso8583.decode(body, SPEC), 20000)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"machine: {platform.machine()} {cpu}; Python {platform.python_version()}; pyiso8583 {iso8583.__version__}")
print(f"body: {len(body)} bytes, {len(FIELDS)} fields: {body.hex().upper()}")
print(f"encode        {enc:10.0f} ns/op")
print(f"decode        {dec:10.0f} ns/op")
print(f"encode+decode {enc + dec:10.0f} ns/op")
