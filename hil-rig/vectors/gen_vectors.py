#!/usr/bin/env python3
"""Independent test vectors for posconf, computed with pyiso8583 and pycryptodome from the spec
digests' prose (not from posconf's Rust code). Run by hand; the output is committed and checked
by tests/independent_vectors.rs:

    pip install pyiso8583==4.0.1 pycryptodome==4.4.0   # or newer
    python3 hil-rig/vectors/gen_vectors.py > tests/vectors/independent.json
"""
import json
import random
import sys

import iso8583
from Crypto.Cipher import DES, DES3

sys.path.insert(0, __import__("os").path.dirname(__file__))
from cup_spec import SPEC, to_wire  # noqa: E402

rng = random.Random(20261123)


def rhex(n):
    return bytes(rng.randrange(256) for _ in range(n)).hex().upper()


def digits(n):
    return "".join(rng.choice("0123456789") for _ in range(n))


def key(n):
    while True:
        k = bytes(rng.randrange(256) for _ in range(n))
        if n == 16 and k[:8] == k[8:]:
            continue
        return k


def enc(k, block):
    if len(k) == 8:
        return DES.new(k, DES.MODE_ECB).encrypt(block)
    return DES3.new(k, DES3.MODE_ECB).encrypt(block)


def dec(k, block):
    if len(k) == 8:
        return DES.new(k, DES.MODE_ECB).decrypt(block)
    return DES3.new(k, DES3.MODE_ECB).decrypt(block)


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


# --- CUP POS "ECB" MAC (seed §5.2.2): XOR blocks, hex, E(L), xor R, E, first 8 hex chars.
def cup_mac(k, mab):
    mab = mab + b"\x00" * (-len(mab) % 8)
    x = bytes(8)
    for i in range(0, len(mab), 8):
        x = xor(x, mab[i : i + 8])
    h = x.hex().upper().encode()
    e1 = enc(k, h[:8])
    e2 = enc(k, xor(e1, h[8:]))
    return e2.hex().upper()[:8].encode()


def x99(k, data):
    data = data + b"\x00" * (-len(data) % 8)
    c = DES.new(k[:8], DES.MODE_CBC, iv=bytes(8)).encrypt(data)
    return c[-8:]


def x919(k, data):
    c = x99(k[:8], data)
    return DES.new(k[:8], DES.MODE_ECB).encrypt(DES.new(k[8:], DES.MODE_ECB).decrypt(c))


def pin_block(pin, pan):
    pf = bytes.fromhex(("0%X" % len(pin) + pin).ljust(16, "F"))
    if pan is None:
        return pf
    af = bytes.fromhex("0000" + pan[-13:-1])
    return xor(pf, af)


def kcv(k):
    return enc(k, bytes(8))[:4]


def field62(kek, pik, mak, tdk, layout):
    out = enc(kek, pik) + kcv(pik) + enc(kek, mak)
    if layout != "001":
        out += bytes(8)
    out += kcv(mak)
    if layout == "004":
        out += enc(kek, tdk) + kcv(tdk)
    return out


def pboc_mac(k, iv, data):
    data = data + b"\x80"
    data += b"\x00" * (-len(data) % 8)
    if len(k) == 8:
        return DES.new(k, DES.MODE_CBC, iv=iv).encrypt(data)[-8:][:4]
    # ISO 9797-1 algorithm 3: CBC with K_L, final block D(K_R) then E(K_L).
    c = DES.new(k[:8], DES.MODE_CBC, iv=iv).encrypt(data)[-8:]
    return DES.new(k[:8], DES.MODE_ECB).encrypt(DES.new(k[8:], DES.MODE_ECB).decrypt(c))[:4]


def diversify(mk, d):
    return enc(mk, d) + enc(mk, bytes(b ^ 0xFF for b in d))


def track_window(t):
    n = len(t)
    end = n - 1 if n % 2 else n - 2
    return end - 16, end


def enc_track(tdk, t):
    a, b = track_window(t)
    w = bytes.fromhex(t[a:b].replace("=", "D"))
    e = enc(tdk, w).hex().upper().replace("D", "=")
    return t[:a] + e + t[b:]


crypto = []
for i in range(20):
    k8, k16 = key(8), key(16)
    crypto.append({"fn": "kcv", "key": k8.hex().upper(), "out": kcv(k8).hex().upper()})
    crypto.append({"fn": "kcv", "key": k16.hex().upper(), "out": kcv(k16).hex().upper()})
    for k in (k8, k16):
        mab = bytes.fromhex(rhex(rng.choice([8, 16, 24, 57, 97, 150, 203])))
        crypto.append({"fn": "cup_ecb_mac", "key": k.hex().upper(), "data": mab.hex().upper(), "out": cup_mac(k, mab).hex().upper()})
    data = bytes.fromhex(rhex(rng.randrange(1, 120)))
    crypto.append({"fn": "x9_9", "key": k8.hex().upper(), "data": data.hex().upper(), "out": x99(k8, data).hex().upper()})
    crypto.append({"fn": "x9_19", "key": k16.hex().upper(), "data": data.hex().upper(), "out": x919(k16, data).hex().upper()})
    pin = digits(rng.randrange(4, 13))
    pan = digits(rng.randrange(13, 20))
    for pik in (k8, k16):
        crypto.append({"fn": "pin_block", "key": pik.hex().upper(), "pin": pin, "pan": pan, "out": enc(pik, pin_block(pin, pan)).hex().upper()})
    crypto.append({"fn": "pin_block", "key": k16.hex().upper(), "pin": pin, "pan": None, "out": enc(k16, pin_block(pin, None)).hex().upper()})
    kek = key(rng.choice([8, 16]))
    for layout in ("001", "003", "004"):
        pik = key(8) if layout == "001" else key(16)
        mak = key(8)
        tdk = key(16)
        crypto.append({
            "fn": "field62", "layout": layout, "kek": kek.hex().upper(), "pik": pik.hex().upper(), "mak": mak.hex().upper(),
            "tdk": tdk.hex().upper() if layout == "004" else None,
            "out": field62(kek, pik, mak, tdk, layout).hex().upper(),
        })
    tdk = key(16)
    tr = pan + "=" + digits(rng.randrange(7, 20))
    crypto.append({"fn": "track", "key": tdk.hex().upper(), "track": tr, "out": enc_track(tdk, tr)})
    for k in (k8, k16):
        iv = bytes.fromhex(rhex(4)) + bytes(4) if i % 2 else bytes(8)
        d = bytes.fromhex(rhex(rng.randrange(0, 40)))
        crypto.append({"fn": "pboc_mac", "key": k.hex().upper(), "iv": iv.hex().upper(), "data": d.hex().upper(), "out": pboc_mac(k, iv, d).hex().upper()})
    mk, fac = key(16), bytes.fromhex(rhex(8))
    dk = diversify(mk, fac)
    crypto.append({"fn": "diversify", "key": mk.hex().upper(), "factor": fac.hex().upper(), "out": dk.hex().upper()})
    rnd, ctr = bytes.fromhex(rhex(4)), bytes.fromhex(rhex(2))
    ses = enc(dk, rnd + ctr + b"\x80\x00")
    crypto.append({"fn": "seslk", "key": dk.hex().upper(), "random": rnd.hex().upper(), "ctr": ctr.hex().upper(), "out": ses.hex().upper()})
    old, amt = rng.randrange(0, 10**6), rng.randrange(1, 10**5)
    term, date, time = bytes.fromhex(rhex(6)), bytes.fromhex("20%02d%02d%02d" % (rng.randrange(10, 40), rng.randrange(1, 13), rng.randrange(1, 29))), bytes.fromhex("%02d%02d%02d" % (rng.randrange(24), rng.randrange(60), rng.randrange(60)))
    typ = rng.choice([1, 2])
    m1 = pboc_mac(ses, bytes(8), old.to_bytes(4, "big") + amt.to_bytes(4, "big") + bytes([typ]) + term)
    m2 = pboc_mac(ses, bytes(8), amt.to_bytes(4, "big") + bytes([typ]) + term + date + time)
    dtk = key(16)
    tk = xor(dtk[:8], dtk[8:])
    tac = pboc_mac(tk, bytes(8), (old + amt).to_bytes(4, "big") + ctr + amt.to_bytes(4, "big") + bytes([typ]) + term + date + time)
    crypto.append({
        "fn": "load", "seslk": ses.hex().upper(), "dtk": dtk.hex().upper(), "old_balance": old, "amount": amt, "type": typ,
        "terminal": term.hex().upper(), "date": date.hex().upper(), "time": time.hex().upper(), "ctr": ctr.hex().upper(),
        "mac1": m1.hex().upper(), "mac2": m2.hex().upper(), "tac": tac.hex().upper(),
    })

# --- Frames packed by pyiso8583.
TPDU, HEADER = "6000030000", "603100310000"


def frame(fields, mti):
    doc = {"t": mti, **to_wire(fields)}
    body, _ = iso8583.encode(doc, SPEC)
    payload = bytes.fromhex(TPDU + HEADER) + bytes(body)
    return (len(payload).to_bytes(2, "big") + payload).hex().upper()


def text(n):
    return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -/.") for _ in range(n))


frames = []
# The digest's 0200 and 0800 first: pyiso8583 must reproduce them byte for byte.
digest_0200 = {
    "3": "000000", "4": "000000000100", "11": "000002", "14": "2512", "22": "021", "25": "00", "26": "12",
    "35": "6225881234567890=25122011234567890", "41": "12345678", "42": "898110048120001", "49": "156",
    "52": "4AF9E141A5EE0E3B", "53": "2600000000000000", "60": "2200000100050", "64": "4635373643303533",
}
want = "007460000300006031003100000200302404C020C09811000000000000000100000002251202100012346225881234567890D2512201123456789031323334353637383839383131303034383132303030313135364AF9E141A5EE0E3B26000000000000000013220000010005004635373643303533"
assert frame(digest_0200, "0200") == want, "pyiso8583 spec does not reproduce the digest 0200"
frames.append({"name": "digest 0200 purchase", "mti": "0200", "fields": digest_0200, "frame_hex": want})
digest_0800 = {"11": "000001", "41": "12345678", "42": "898110048120001", "60": "00000001004", "63": "01 "}
want0800 = "003C600003000060310031000008000020000000C00012000001313233343536373838393831313030343831323030303100110000000100400003303120"
assert frame(digest_0800, "0800") == want0800
frames.append({"name": "digest 0800 sign-in", "mti": "0800", "fields": digest_0800, "frame_hex": want0800})

for i in range(60):
    kind = rng.choice(["0200", "0210", "0400", "0220", "0800", "0810", "0500", "0320"])
    f = {"11": digits(6), "41": text(8), "42": text(15)}
    if kind in ("0200", "0210", "0400", "0220"):
        f.update({"3": rng.choice(["000000", "200000", "310000"]), "4": digits(12), "22": rng.choice(["021", "051", "012", "071"]), "25": "00", "49": "156"})
        f["60"] = digits(rng.choice([8, 11, 13, 14, 17]))
        if rng.random() < 0.6:
            f["2"] = digits(rng.randrange(13, 20))
        if rng.random() < 0.5:
            f["35"] = digits(rng.randrange(13, 20)) + "=" + digits(rng.randrange(5, 17))
        if rng.random() < 0.3:
            f["36"] = digits(rng.randrange(20, 60)) + "=" + digits(rng.randrange(5, 40))
        if rng.random() < 0.5:
            f["52"], f["53"], f["26"] = rhex(8), "2600000000000000", "12"
        if rng.random() < 0.4:
            f["55"] = rhex(rng.randrange(1, 80))
        if kind == "0400":
            f["39"] = rng.choice(["98", "A0", "96", "06"])
        if kind == "0220":
            f["37"], f["61"], f["63"] = digits(12), digits(rng.choice([12, 16, 29])), rng.choice(["CUP", "VIS", "MCC"])
        if kind == "0210":
            f.update({"12": digits(6), "13": digits(4), "32": digits(rng.randrange(1, 12)), "37": digits(12), "38": text(6), "39": "00", "44": text(rng.randrange(0, 26))})
            if rng.random() < 0.5:
                f["54"] = "1002156C" + digits(12)
        f["64"] = rhex(8)
    elif kind in ("0800", "0810"):
        f["60"] = "00" + digits(6) + rng.choice(["001", "003", "004"])
        if kind == "0810":
            f.update({"12": digits(6), "13": digits(4), "32": digits(8), "37": digits(12), "39": "00", "62": rhex(rng.choice([24, 40, 60]))})
        else:
            f["63"] = "01 "
    elif kind == "0500":
        f.update({"48": digits(62), "49": "156", "60": "00" + digits(6) + "201", "63": "01 "})
    else:
        items = rng.randrange(1, 9)
        f.update({"48": "%02d" % items + digits(40 * items), "60": "00" + digits(6) + rng.choice(["201", "202", "207"])})
    frames.append({"name": f"random {i} {kind}", "mti": kind, "fields": f, "frame_hex": frame(f, kind)})

json.dump(
    {
        "generator": "hil-rig/vectors/gen_vectors.py",
        "pyiso8583": __import__("importlib.metadata").metadata.version("pyiso8583"),
        "pycryptodome": __import__("importlib.metadata").metadata.version("pycryptodome"),
        "crypto": crypto,
        "frames": frames,
    },
    sys.stdout,
    indent=1,
)
print()
