#!/usr/bin/env python3
"""CUP direct-connect frames packed by pyiso8583, for posconf's codec to decode and re-pack.

Writes tests/vectors/pyiso8583_frames.json: a list of
    {"name": ..., "mti": "0200", "fields": {"2": "...", ...}, "frame_hex": "<whole TCP frame>"}
Run by hand (never at test time); see README.md beside this file:

    pip install pyiso8583==4.0.1 pycryptodome==4.4.0
    python3 hil-rig/vectors/pyiso8583_frames.py            # writes the JSON
    python3 hil-rig/vectors/pyiso8583_frames.py --check    # regenerates, compares, writes nothing

The pyiso8583 spec (SPEC below) is written from shared/spec/cup-direct-8583.md §1-3, not from
posconf's Rust tables; fields the digest does not list take their ISO 8583:1987 type with the
same conventions (n -> BCD, an/ans -> ASCII, b -> raw bytes).

Field values follow posconf's JSON convention:
  n  -> the digit string at its natural length (fixed fields full width, e.g. "000000")
  z  -> digits with "=" as the track separator (fields 35, 36)
  an/ans -> the text exactly as on the wire (fixed fields include their space padding)
  b  -> uppercase hex

What pyiso8583 cannot express, and how this file works around it:
  * Track data: pyiso8583's BCD is hex-string data (data_enc "b"), so "=" is not a legal
    character. to_wire() turns "=" into the nibble "D" before encoding, from_wire() turns "D"
    back into "=" after decoding.
  * Digit checking: data_enc "b" accepts any hex nibble, so an "n" field holding "12AB" would
    pack silently. to_wire() rejects non-digits (and non-digit/"=" in tracks), wrong widths of
    fixed fields and text that is not printable ASCII.
  * Framing: the 2-byte length prefix, TPDU and header are outside the ISO 8583 body and are
    added in Python by frame() (pyiso8583's "h" header is left empty).
Everything else is plain pyiso8583 v3+/v4 spec: BCD = data_enc "b" + len_count "nibbles";
right-aligned odd fixed numerics = left_pad "0"; left-aligned (field 22, every variable n/z
field) = right_pad "0"; LL = len_enc "bcd" + len_type 1; LLL = len_enc "bcd" + len_type 2.
"""
import argparse
import json
import os
import random
import sys

import iso8583
from Crypto.Cipher import DES, DES3

TPDU = "6000030000"
HEADER = "603100310000"

# --- The dialect --------------------------------------------------------------------------
# field -> (format, prefix bytes: 0 fixed / 1 LL / 2 LLL, max or fixed length, alignment of odd
# BCD). Lengths of n/z fields count digits, of an/ans/b fields count bytes.
FIELDS = {
    2: ("n", 1, 19, "left"),       # PAN                               digest §3
    3: ("n", 0, 6, "right"),       # processing code                   digest
    4: ("n", 0, 12, "right"),      # amount, fen                       digest
    5: ("n", 0, 12, "right"),      # ISO 8583:1987 from here unless marked
    6: ("n", 0, 12, "right"),
    7: ("n", 0, 10, "right"),
    8: ("n", 0, 8, "right"),
    9: ("n", 0, 8, "right"),
    10: ("n", 0, 8, "right"),
    11: ("n", 0, 6, "right"),      # STAN                              digest
    12: ("n", 0, 6, "right"),      # local time                        digest
    13: ("n", 0, 4, "right"),      # local date                        digest
    14: ("n", 0, 4, "right"),      # expiry YYMM                       digest
    15: ("n", 0, 4, "right"),      # settlement date                   digest
    16: ("n", 0, 4, "right"),
    17: ("n", 0, 4, "right"),
    18: ("n", 0, 4, "right"),
    19: ("n", 0, 3, "right"),
    20: ("n", 0, 3, "right"),
    21: ("n", 0, 3, "right"),
    22: ("n", 0, 3, "left"),       # entry mode, LEFT-aligned          digest
    23: ("n", 0, 3, "right"),      # card sequence number              digest
    24: ("n", 0, 3, "right"),
    25: ("n", 0, 2, "right"),      # POS condition                     digest
    26: ("n", 0, 2, "right"),      # PIN capture                       digest
    27: ("n", 0, 1, "right"),
    28: ("ans", 0, 9, None),       # x+n8 (C/D + 8 digits): sent as 9 ASCII characters
    29: ("ans", 0, 9, None),
    30: ("ans", 0, 9, None),
    31: ("ans", 0, 9, None),
    32: ("n", 1, 11, "left"),      # acquirer institution              digest
    33: ("n", 1, 11, "left"),
    34: ("ans", 1, 28, None),
    35: ("z", 1, 37, "left"),      # track 2                           digest
    36: ("z", 2, 104, "left"),     # track 3                           digest
    37: ("an", 0, 12, None),       # RRN                               digest
    38: ("an", 0, 6, None),        # auth code                         digest
    39: ("an", 0, 2, None),        # response code                     digest
    40: ("an", 0, 3, None),
    41: ("ans", 0, 8, None),       # terminal id                       digest
    42: ("ans", 0, 15, None),      # merchant id                       digest
    43: ("ans", 0, 40, None),
    44: ("an", 1, 25, None),       # additional response data          digest
    45: ("an", 1, 76, None),
    46: ("ans", 2, 999, None),
    47: ("ans", 2, 999, None),
    48: ("n", 2, 322, "left"),     # private, BCD                      digest
    49: ("an", 0, 3, None),        # currency, ASCII "156"             digest
    50: ("an", 0, 3, None),
    51: ("an", 0, 3, None),
    52: ("b", 0, 8, None),         # PIN block                         digest
    53: ("n", 0, 16, "right"),     # security control                  digest
    54: ("an", 2, 20, None),       # balance                           digest
    55: ("b", 2, 255, None),       # ICC data                          digest
    56: ("ans", 2, 999, None),
    57: ("ans", 2, 999, None),
    58: ("ans", 2, 999, None),
    59: ("ans", 2, 999, None),
    60: ("n", 2, 17, "left"),      # reserved (type, batch, ...)       digest
    61: ("n", 2, 29, "left"),      # original data                     digest
    62: ("b", 2, 512, None),       # reserved (sign-in keys, ...)      digest
    63: ("ans", 2, 163, None),     # reserved (operator, card org)     digest
    64: ("b", 0, 8, None),         # MAC                               digest
}


def _field_spec(fmt, prefix, size, align):
    spec = {"len_enc": "bcd", "len_type": prefix, "max_len": size, "desc": ""}
    if fmt in ("n", "z"):
        spec.update(data_enc="b", len_count="nibbles")
        spec["left_pad" if align == "right" else "right_pad"] = "0"
    elif fmt == "b":
        spec.update(data_enc="b", len_count="bytes")
    else:
        spec.update(data_enc="ascii", len_count="bytes")
    return spec


SPEC = {
    "h": {"data_enc": "b", "len_enc": "bcd", "len_type": 0, "max_len": 0, "desc": "none (TPDU/header added by frame())"},
    "t": {"data_enc": "b", "len_enc": "bcd", "len_type": 0, "max_len": 2, "desc": "MTI, 2 bytes BCD"},
    "p": {"data_enc": "b", "len_enc": "bcd", "len_type": 0, "max_len": 8, "desc": "primary bitmap, binary"},
    # CUP never sets bit 1; pyiso8583 wants a secondary bitmap spec all the same.
    "1": {"data_enc": "b", "len_enc": "bcd", "len_type": 0, "max_len": 8, "desc": "secondary bitmap (unused)"},
    **{str(f): _field_spec(*t) for f, t in FIELDS.items()},
}

_PRINTABLE = set(map(chr, range(0x20, 0x7F)))


def to_wire(fields):
    """posconf value convention -> pyiso8583 input, with the checks pyiso8583 does not make."""
    out = {}
    for k, v in fields.items():
        f = int(k)
        if f not in FIELDS:
            raise ValueError(f"field {k}: CUP uses the primary bitmap only (2..64)")
        fmt, prefix, size, _ = FIELDS[f]
        if fmt == "n" and not v.isdigit():
            raise ValueError(f"field {k}: n value must be digits: {v!r}")
        if fmt == "z" and not all(c in "0123456789=" for c in v):
            raise ValueError(f"field {k}: track value must be digits and '=': {v!r}")
        if fmt == "b":
            if v != v.upper() or len(v) % 2:
                raise ValueError(f"field {k}: binary value must be uppercase hex: {v!r}")
            bytes.fromhex(v)
        if fmt in ("an", "ans") and not set(v) <= _PRINTABLE:
            raise ValueError(f"field {k}: text must be printable ASCII: {v!r}")
        n = len(v) // 2 if fmt == "b" else len(v)
        if (prefix == 0 and n != size) or n > size or (prefix and n == 0):
            raise ValueError(f"field {k}: length {n} does not fit {fmt}{'' if prefix else ' fixed'} {size}")
        out[k] = v.replace("=", "D") if fmt == "z" else v
    return out


def from_wire(doc):
    """pyiso8583 decode output -> posconf value convention."""
    return {k: (v.replace("D", "=") if FIELDS[int(k)][0] == "z" else v)
            for k, v in doc.items() if k not in ("h", "t", "p")}


def encode_body(mti, fields):
    body, _ = iso8583.encode({"t": mti, **to_wire(fields)}, SPEC)
    return bytes(body)


def decode_body(body):
    doc, _ = iso8583.decode(body, SPEC)
    return doc["t"], from_wire(doc)


def frame(mti, fields, tpdu=TPDU, header=HEADER):
    payload = bytes.fromhex(tpdu + header) + encode_body(mti, fields)
    return len(payload).to_bytes(2, "big") + payload


def unframe(data):
    n = int.from_bytes(data[:2], "big")
    assert n == len(data) - 2, "length prefix"
    return data[2:7].hex().upper(), data[7:13].hex().upper(), decode_body(data[13:])


# --- A second packer written straight from the digest's §2 prose, without pyiso8583 ---------
def reference_body(mti, fields):
    bitmap, out = 0, b""
    for f in sorted(map(int, fields)):
        bitmap |= 1 << (64 - f)
        fmt, prefix, size, align = FIELDS[f]
        v = fields[str(f)]
        if fmt in ("n", "z"):
            nib = v.replace("=", "D")
            if len(nib) % 2:
                nib = "0" + nib if (prefix == 0 and align == "right") else nib + "0"
            data, count = bytes.fromhex(nib), len(v)
        elif fmt == "b":
            data = bytes.fromhex(v)
            count = len(data)
        else:
            data = v.encode("ascii")
            count = len(data)
        if prefix:
            out += bytes.fromhex("%0*d" % (2 * prefix, count))
        out += data
    return bytes.fromhex(mti) + bitmap.to_bytes(8, "big") + out


# --- pycryptodome: realistic field 52 and field 62 (digest §5, §7) -------------------------
def _enc(k, block):
    return (DES.new(k, DES.MODE_ECB) if len(k) == 8 else DES3.new(k, DES3.MODE_ECB)).encrypt(block)


def pin_block(pik, pin, pan):
    pf = bytes.fromhex(("0%X" % len(pin) + pin).ljust(16, "F"))
    af = bytes.fromhex("0000" + pan[-13:-1])
    return _enc(pik, bytes(a ^ b for a, b in zip(pf, af)))


def kcv(k):
    return _enc(k, bytes(8))[:4]


def field62(tmk, pik, mak, tdk, layout):
    out = _enc(tmk, pik) + kcv(pik) + _enc(tmk, mak)
    if layout != "001":
        out += bytes(8)
    out += kcv(mak)
    if layout == "004":
        out += _enc(tmk, tdk) + kcv(tdk)
    return out


# --- The digest's own vectors (§13) --------------------------------------------------------
DIGEST_0200 = {
    "3": "000000", "4": "000000000100", "11": "000002", "14": "2512", "22": "021", "25": "00",
    "26": "12", "35": "6225881234567890=25122011234567890", "41": "12345678",
    "42": "898110048120001", "49": "156", "52": "4AF9E141A5EE0E3B", "53": "2600000000000000",
    "60": "2200000100050", "64": "4635373643303533",
}
DIGEST_0200_FRAME = (
    "007460000300006031003100000200302404C020C09811000000000000000100000002251202100012346225"
    "881234567890D2512201123456789031323334353637383839383131303034383132303030313135364AF9E1"
    "41A5EE0E3B26000000000000000013220000010005004635373643303533"
)
DIGEST_0800 = {"11": "000001", "41": "12345678", "42": "898110048120001", "60": "00000001004", "63": "01 "}
DIGEST_0800_FRAME = (
    "003C600003000060310031000008000020000000C000120000013132333435363738383938313130303438313230"
    "3030310011000000010040" "0003303120"
)


def check_digest():
    """pyiso8583 with SPEC must reproduce §13 byte for byte, pycryptodome its key/PIN values."""
    for mti, fields, want in (("0200", DIGEST_0200, DIGEST_0200_FRAME), ("0800", DIGEST_0800, DIGEST_0800_FRAME)):
        got = frame(mti, fields).hex().upper()
        assert got == want, f"pyiso8583 spec does not reproduce the digest {mti}:\n{got}\n{want}"
        assert reference_body(mti, fields) == bytes.fromhex(want)[13:], f"reference packer, digest {mti}"
        assert unframe(bytes.fromhex(want)) == (TPDU, HEADER, (mti, fields)), f"decode digest {mti}"
    h = bytes.fromhex
    assert pin_block(h("0123456789ABCDEFFEDCBA9876543210"), "123456", "6225881234567890") == h("4AF9E141A5EE0E3B")
    assert pin_block(h("0123456789ABCDEF"), "123456", "6225881234567890") == h("3CCC412993FC856E")
    assert kcv(h("0123456789ABCDEF")) == h("D5D44FF7") and kcv(h("1111111111111111")) == h("82E13665")
    assert field62(h("1111111111111111"), h("0123456789ABCDEF"), h("1A2B3C4D5E6F7A8B"), None, "001") == h(
        "8A5AE1F81AB8F2DDD5D44FF7AEA538C60015D78848E9E43E")
    assert field62(h("11111111111111112222222222222222"), h("0123456789ABCDEFFEDCBA9876543210"),
                   h("1A2B3C4D5E6F7A8B"), h("89ABCDEF0123456776543210FEDCBA98"), "004") == h(
        "CB4AB541CD5AD4FC256A882726936A5A08D7B4FB43399D26275521530000000000000000"
        "48E9E43ED0D7CB5B1A70AC6A75E0431E2A75B492EB7A8DF9")


# --- Generated cases -----------------------------------------------------------------------
SEED = 20261123
TMK = bytes.fromhex("11111111111111112222222222222222")  # digest §13 V2; KEK for the 0810 keys
PIK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")  # digest §13 V2; PIN blocks in field 52


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.batch = "000001"

    def digits(self, n):
        return "".join(self.r.choice("0123456789") for _ in range(n))

    def hex(self, n):
        return bytes(self.r.randrange(256) for _ in range(n)).hex().upper()

    def key(self, n):
        return bytes(self.r.randrange(256) for _ in range(n))

    def text(self, n, alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"):
        return "".join(self.r.choice(alphabet) for _ in range(n))

    def pan(self, parity):
        return "62" + self.digits(self.r.choice([n for n in range(13, 20) if n % 2 == parity]) - 2)

    def expiry(self):
        return "%02d%02d" % (self.r.randrange(26, 36), self.r.randrange(1, 13))

    def track2(self, pan, exp, parity):
        # PAN "=" YYMM, service code, discretionary data; total (with "=") odd or even, <= 37.
        n = self.r.choice([n for n in range(len(pan) + 8, 38) if n % 2 == parity])
        return pan + "=" + exp + self.r.choice(["201", "220", "101"]) + self.digits(n - len(pan) - 8)

    def track3(self, pan, parity):
        # Format code 99, PAN, "=", country 156, the rest digits: 40..104 characters.
        n = self.r.choice([n for n in range(40, 105) if n % 2 == parity])
        t = "99" + pan + "=156"
        return t + self.digits(n - len(t))

    def terminal(self):
        self.batch = "%06d" % self.r.randrange(1, 1000000)
        tid = self.r.choice([self.digits(8), "T" + self.digits(7), "POS" + self.digits(4) + " "])
        mid = self.r.choice(["898" + self.digits(12), "8981100" + self.digits(8), "M" + self.text(10) + "    "])
        return {"11": self.digits(6), "41": tid, "42": mid}

    def f60(self, kind, n):
        # 60.1 type, 60.2 batch, 60.3 000, 60.4 read capability, 60.5 IC condition, 60.6, 60.7.
        full = kind + self.batch + "000" + self.r.choice("256") + self.r.choice("012") + "0" + self.r.choice(["000", "048", "065"])
        return full[:n]

    def purchase(self, j):
        pan = self.pan(j % 2)
        pin = self.digits(self.r.randrange(4, 13))
        ic = j % 3 == 2
        exp = self.expiry()
        f = {**self.terminal(), "2": pan, "3": "000000", "4": self.digits(12), "14": exp,
             "22": "051" if ic else "021", "25": "00", "26": "12", "35": self.track2(pan, exp, (j // 2) % 2),
             "49": "156", "52": pin_block(PIK, pin, pan).hex().upper(),
             "53": self.r.choice(["2600000000000000", "2610000000000000"]),
             "60": self.f60("22", self.r.choice([8, 11, 13, 14, 17]) if j else 13), "64": self.hex(8)}
        if j % 2 == 0:
            f["36"] = self.track3(pan, (j // 2) % 2)
        if ic:
            f["23"] = "00" + self.digits(1)
            f["55"] = "9F2608" + self.hex(8) + "9F2701809F3704" + self.hex(4) + "9F3602" + self.hex(2)
        return f, "purchase " + ("IC" if ic else "swipe") + (" with track 3" if "36" in f else "")

    def purchase_response(self, j):
        pan = self.pan((j + 1) % 2)
        balance = j % 2 == 1
        f = {**self.terminal(), "2": pan, "3": "310000" if balance else "000000", "12": self.digits(6),
             "13": "1123", "14": self.expiry(), "25": "00", "32": self.digits(self.r.choice([8, 9, 11])),
             "37": self.digits(12), "38": self.r.choice([self.text(6), self.digits(6), self.text(4) + "  "]),
             "39": "00", "44": self.r.choice(["0102000" + "0" * 4 + "4802" + "0" * 7, self.text(11) + self.text(11),
                                              "01020000   48020000   "]),
             "49": "156", "54": "1002156" + self.r.choice("CD") + self.digits(12),
             "60": self.f60("01" if balance else "22", self.r.choice([8, 11, 13])),
             "63": "CUP" + ("" if j % 3 == 0 else "".join(self.text(20, "ABCDEFGH 0123456789") for _ in range(3))), "64": self.hex(8)}
        if not balance:
            f["4"] = self.digits(12)
        return f, "balance inquiry response" if balance else "purchase response"

    def reversal(self, j):
        pan = self.pan(j % 2)
        f = {**self.terminal(), "2": pan, "3": "000000", "4": self.digits(12), "14": self.expiry(),
             "22": self.r.choice(["021", "051", "071"]), "25": "00", "39": ["98", "A0", "96", "06"][j % 4],
             "49": "156", "60": self.f60("22", self.r.choice([11, 13, 14, 17])), "64": self.hex(8)}
        if f["39"] in ("A0", "96"):
            f["38"] = self.digits(6)
        return f, f"reversal reason {f['39']}"

    def refund(self, j):
        pan = self.pan((j // 2) % 2)
        if j % 2 == 0:
            exp = self.expiry()
            f = {**self.terminal(), "2": pan, "3": "200000", "4": self.digits(12), "14": exp,
                 "22": "021", "25": "00", "26": "12", "35": self.track2(pan, exp, j % 4 // 2),
                 "37": self.digits(12), "49": "156", "52": pin_block(PIK, "123456", pan).hex().upper(),
                 "53": "2600000000000000", "60": self.f60("25", 13), "61": "000000000000" + "1122",
                 "63": self.r.choice(["CUP", "VIS", "MCC", "JCB"]), "64": self.hex(8)}
            return f, "refund (61 even)"
        f = {**self.terminal(), "2": pan, "3": "000000", "4": self.digits(12), "12": self.digits(6), "13": "1122",
             "14": self.expiry(), "22": "012", "25": "00", "38": self.digits(6), "49": "156",
             "60": self.f60("30", 13), "61": "0" * 16 + "00" + self.digits(11), "63": "CUP", "64": self.hex(8)}
        return f, "offline settlement (61 odd, 29 digits)"

    def sign_in(self, j):
        layout = ["001", "003", "004"][j % 3]
        f = {**self.terminal(), "60": "00" + self.batch + layout, "63": self.r.choice(["01 ", "02 ", "001"])}
        return f, f"sign-in 60.3={layout}"

    def sign_in_response(self, j):
        layout = ["001", "003", "004"][j % 3]
        pik = self.key(8) if layout == "001" else self.key(16)
        f62 = field62(TMK if layout != "001" else TMK[:8], pik, self.key(8), self.key(16), layout)
        f = {**self.terminal(), "12": self.digits(6), "13": "1123", "32": self.digits(8), "37": self.digits(12),
             "39": "00", "60": "00" + self.batch + layout, "62": f62.hex().upper()}
        return f, f"sign-in response 60.3={layout}, {len(f62)}-byte keys"

    def settlement(self, j):
        amount = lambda: self.digits(12)  # noqa: E731
        count = lambda: "%03d" % self.r.randrange(1000)  # noqa: E731
        f48 = amount() + count() + amount() + count() + "0" + amount() + count() + amount() + count() + "0"
        assert len(f48) == 62
        f = {**self.terminal(), "48": f48, "49": "156", "60": "00" + self.batch + "201", "63": "01 "}
        return f, "batch settlement"

    def batch_upload(self, j):
        if j % 3 == 0:
            items = self.r.randrange(1, 9)
            f48 = "%02d" % items + "".join(
                self.r.choice(["00", "01"]) + self.digits(6) + self.pan(self.r.randrange(2)).zfill(20) + self.digits(12)
                for _ in range(items))
            f, name = {"48": f48, "60": "00" + self.batch + "201"}, f"batch upload, {items} item{'s' if items > 1 else ''}"
        elif j % 3 == 1:
            f, name = {"48": "%04d" % self.r.randrange(1, 300), "60": "00" + self.batch + self.r.choice(["202", "207"])}, "batch upload end"
        else:
            # Not a layout the digest names: an odd digit count to exercise the LLL BCD pad nibble.
            n = self.r.choice([1, 3, 61, 321])
            f, name = {"48": self.digits(n), "60": "00" + self.batch + "201"}, f"batch upload, 48 odd ({n} digit{'s' if n > 1 else ''}, codec edge)"
        return {**self.terminal(), **f}, name

    def void(self, j):
        pan = self.pan(1)
        exp = self.expiry()
        f = {**self.terminal(), "2": pan, "3": "200000", "4": self.digits(12), "14": exp, "22": "021",
             "25": "00", "26": "12", "35": self.track2(pan, exp, j % 2), "37": self.digits(12), "38": self.digits(6),
             "49": "156", "52": pin_block(PIK, "8888", pan).hex().upper(), "53": "2600000000000000",
             "60": self.f60("23", 13), "61": self.batch + self.digits(6), "64": self.hex(8)}
        return f, "purchase void (61 = batch + STAN, 12 digits)"


PLAN = [  # (mti, generator, how many)
    ("0800", Gen.sign_in, 7), ("0810", Gen.sign_in_response, 7), ("0200", Gen.purchase, 8),
    ("0210", Gen.purchase_response, 7), ("0400", Gen.reversal, 7), ("0220", Gen.refund, 8),
    ("0500", Gen.settlement, 6), ("0320", Gen.batch_upload, 6), ("0200", Gen.void, 2),
]


def build():
    cases = [
        {"name": "digest 13 V2 0200 sale (swipe + PIN)", "mti": "0200", "fields": DIGEST_0200, "frame_hex": DIGEST_0200_FRAME},
        {"name": "digest 13 V2 0800 sign-in", "mti": "0800", "fields": DIGEST_0800, "frame_hex": DIGEST_0800_FRAME},
    ]
    g = Gen(SEED)
    jobs = [(mti, fn, j) for mti, fn, n in PLAN for j in range(n)]
    g.r.shuffle(jobs)
    for i, (mti, fn, j) in enumerate(jobs):
        fields, what = fn(g, j)
        fields = {k: fields[k] for k in sorted(fields, key=int)}
        cases.append({"name": f"{i + 1:02d} {mti} {what}", "mti": mti, "fields": fields,
                      "frame_hex": frame(mti, fields).hex().upper()})
    return cases


def verify(cases):
    for c in cases:
        data = bytes.fromhex(c["frame_hex"])
        assert data[13:] == reference_body(c["mti"], c["fields"]), f"{c['name']}: pyiso8583 != reference packer"
        assert unframe(data) == (TPDU, HEADER, (c["mti"], c["fields"])), f"{c['name']}: decode round trip"
    seen = {}
    for c in cases:
        for k, v in c["fields"].items():
            seen.setdefault(k, set()).add(len(v) % 2)
    for k in ("2", "35", "36", "48", "60", "61"):
        assert seen[k] == {0, 1}, f"field {k}: need odd and even lengths, have {seen[k]}"
    need = {
        "0800": {"11", "41", "42", "60", "63"}, "0810": {"62"},
        "0200": {"2", "3", "4", "11", "14", "22", "25", "26", "35", "41", "42", "49", "52", "53", "60", "64"},
        "0210": {"12", "13", "32", "37", "38", "39", "44", "54", "63"}, "0400": {"39"},
        "0220": {"37", "61", "63"}, "0500": {"48", "49", "60", "63"}, "0320": {"48"},
    }
    for mti, fields in need.items():
        assert any(c["mti"] == mti and fields <= set(c["fields"]) for c in cases), f"no {mti} with {sorted(fields)}"
    assert any(c["mti"] == "0500" and len(c["fields"]["48"]) == 62 for c in cases)
    assert any(c["mti"] == "0800" and c["fields"]["60"] == "00000001004" and c["fields"]["63"] == "01 " for c in cases)
    assert all("=" in c["fields"][t] for c in cases for t in ("35", "36") if t in c["fields"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("--out", default=os.path.join(root, "tests", "vectors", "pyiso8583_frames.json"))
    ap.add_argument("--check", action="store_true", help="compare with --out instead of writing it")
    a = ap.parse_args()
    check_digest()
    cases = build()
    verify(cases)
    text = json.dumps(cases, indent=1, ensure_ascii=False) + "\n"
    if a.check:
        with open(a.out, encoding="utf-8") as f:
            same = f.read() == text
        print(f"{a.out}: {'identical' if same else 'DIFFERS'} ({len(cases)} cases)")
        sys.exit(0 if same else 1)
    with open(a.out, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {a.out}: {len(cases)} cases (pyiso8583 {iso8583.__version__})")


if __name__ == "__main__":
    main()
