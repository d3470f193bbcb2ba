#!/usr/bin/env python3
"""Time pyiso8583 encode/decode of the 20-field CUP 0200 purchase that posconf's Rust benchmarks
(`benches/codec.rs`, `posconf bench codec`, message built by `src/bench.rs` sample_purchase) time,
so the two can be compared. Run by hand, on an otherwise idle machine:

    pip install pyiso8583==4.0.1 pycryptodome==4.4.0
    python3 hil-rig/bench/pyiso8583_bench.py [--number 5000] [--repeat 21] [--json out.json]

The message is the digest §13 0200 sale plus IC/track-3 fields: 2, 3, 4, 11, 14, 22, 23, 25, 26,
35, 36 (104-digit track 3), 41, 42, 49, 52, 53, 55 (44-byte TLV), 60, 63, 64. The spec is the one
in ../vectors/pyiso8583_frames.py. The script asserts the body is byte-identical to the hex that
src/bench.rs pins, and prints the whole TCP frame (length, TPDU 6000030000, header 603100310000)
so any other implementation can time the identical bytes.

Each figure is the median over --repeat runs of --number calls (timeit), in ns per call. The
encode figure includes a dict copy of the 21-entry input (pyiso8583 adds the bitmap to the dict
it is given); that copy costs well under 1 % of an encode.
"""
import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import timeit

import iso8583

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors"))
from pyiso8583_frames import HEADER, SPEC, TPDU, decode_body, frame, to_wire  # noqa: E402

MTI = "0200"
FIELDS = {
    "2": "6225881234567890",
    "3": "000000",
    "4": "000000000100",
    "11": "000002",
    "14": "2512",
    "22": "051",
    "23": "001",
    "25": "00",
    "26": "12",
    "35": "6225881234567890=2512201123456789",
    "36": "99" + "6225881234567890" + "=" + "1" * 85,
    "41": "12345678",
    "42": "898110048120001",
    "49": "156",
    "52": "4AF9E141A5EE0E3B",
    "53": "2600000000000000",
    "55": "9F2608A1B2C3D4E5F607189F2701809F101307010103A0A802010A010000000000ABCDEF019F3704DEADBEEF",
    "60": "22000001000501",
    "63": "CUP",
    "64": "4635373643303533",
}
# The body src/bench.rs pins in its unit test (posconf packs exactly this).
RUST_BODY = (
    "0200702406C030C09A13166225881234567890000000000000000100000002251205100001001233622588123456"
    "7890D251220112345678900104996225881234567890D11111111111111111111111111111111111111111111111"
    "1111111111111111111111111111111111111131323334353637383839383131303034383132303030313135364A"
    "F9E141A5EE0E3B260000000000000000449F2608A1B2C3D4E5F607189F2701809F101307010103A0A802010A0100"
    "00000000ABCDEF019F3704DEADBEEF00142200000100050100034355504635373643303533"
)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def median_ns(fn, number, repeat):
    runs = timeit.repeat(fn, number=number, repeat=repeat)
    per = sorted(r / number * 1e9 for r in runs)
    return statistics.median(per), per[0], per[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--number", type=int, default=5000, help="calls per timing run")
    ap.add_argument("--repeat", type=int, default=21, help="timing runs; the median is reported")
    ap.add_argument("--json", help="also write the results to this file")
    a = ap.parse_args()

    assert len(FIELDS) == 20 and len(FIELDS["36"]) == 104 and len(FIELDS["55"]) // 2 == 44
    doc = {"t": MTI, **to_wire(FIELDS)}
    body = bytes(iso8583.encode(dict(doc), SPEC)[0])
    assert body.hex().upper() == RUST_BODY, "pyiso8583 body differs from the one src/bench.rs pins"
    assert decode_body(body) == (MTI, FIELDS)
    tcp = frame(MTI, FIELDS).hex().upper()

    enc = median_ns(lambda: iso8583.encode(dict(doc), SPEC), a.number, a.repeat)
    dec = median_ns(lambda: iso8583.decode(body, SPEC), a.number, a.repeat)
    both = median_ns(lambda: iso8583.decode(iso8583.encode(dict(doc), SPEC)[0], SPEC), a.number, a.repeat)

    info = {
        "machine": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "pyiso8583": importlib.metadata.version("pyiso8583"),
        "pycryptodome": importlib.metadata.version("pycryptodome"),
        "number": a.number,
        "repeat": a.repeat,
    }
    for k, v in info.items():
        print(f"{k:13} {v}")
    print(f"message       {MTI}, {len(FIELDS)} fields, body {len(body)} bytes, frame {len(tcp) // 2} bytes")
    print(f"fields        {json.dumps(FIELDS)}")
    print(f"body_hex      {body.hex().upper()}")
    print(f"frame_hex     {tcp}")
    print(f"{'':13} {'median':>10} {'min':>10} {'max':>10}  (ns per call)")
    for name, (med, lo, hi) in (("encode", enc), ("decode", dec), ("encode+decode", both)):
        print(f"{name:13} {med:10.0f} {lo:10.0f} {hi:10.0f}")
    if a.json:
        out = {**info, "mti": MTI, "fields": FIELDS, "tpdu": TPDU, "header": HEADER,
               "body_hex": body.hex().upper(), "frame_hex": tcp,
               "ns_per_call": {n: {"median": round(m), "min": round(lo), "max": round(hi)}
                               for n, (m, lo, hi) in (("encode", enc), ("decode", dec), ("encode+decode", both))}}
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
