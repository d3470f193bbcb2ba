"""The CUP direct-connect dialect as a pyiso8583 spec, written from cup-direct-8583.md §2-3
independently of posconf's Rust table. Used by gen_vectors.py and ../bench/pyiso8583_bench.py.

pyiso8583 expresses BCD as hex-string data (`data_enc: "b"`) counted in nibbles with a pad
nibble; track data is passed with `=` already turned into nibble `D` (see to_wire/from_wire).
"""


def n_fixed(n, right=True):
    # Fixed numerics: right-aligned, left pad nibble 0 when odd (field 22: left-aligned).
    pad = {"left_pad": "0"} if right else {"right_pad": "0"}
    return {"data_enc": "b", "len_enc": "bcd", "len_type": 0, "max_len": n, "len_count": "nibbles", **pad, "desc": ""}


def n_var(n, len_type):
    return {"data_enc": "b", "len_enc": "bcd", "len_type": len_type, "max_len": n, "len_count": "nibbles", "right_pad": "0", "desc": ""}


def a_fixed(n):
    return {"data_enc": "ascii", "len_enc": "bcd", "len_type": 0, "max_len": n, "desc": ""}


def a_var(n, len_type):
    return {"data_enc": "ascii", "len_enc": "bcd", "len_type": len_type, "max_len": n, "desc": ""}


def b_fixed(n):
    return {"data_enc": "b", "len_enc": "bcd", "len_type": 0, "max_len": n, "desc": ""}


def b_var(n, len_type):
    return {"data_enc": "b", "len_enc": "bcd", "len_type": len_type, "max_len": n, "desc": ""}


SPEC = {
    "h": {"data_enc": "b", "len_enc": "bcd", "len_type": 0, "max_len": 0, "desc": "no header"},
    "t": b_fixed(2),
    "p": b_fixed(8),
    "2": n_var(19, 1),
    "3": n_fixed(6),
    "4": n_fixed(12),
    "11": n_fixed(6),
    "12": n_fixed(6),
    "13": n_fixed(4),
    "14": n_fixed(4),
    "15": n_fixed(4),
    "22": n_fixed(3, right=False),
    "23": n_fixed(3),
    "25": n_fixed(2),
    "26": n_fixed(2),
    "32": n_var(11, 1),
    "35": n_var(37, 1),
    "36": n_var(104, 2),
    "37": a_fixed(12),
    "38": a_fixed(6),
    "39": a_fixed(2),
    "41": a_fixed(8),
    "42": a_fixed(15),
    "44": a_var(25, 1),
    "48": n_var(322, 2),
    "49": a_fixed(3),
    "52": b_fixed(8),
    "53": n_fixed(16),
    "54": a_var(20, 2),
    "55": b_var(255, 2),
    "60": n_var(17, 2),
    "61": n_var(29, 2),
    "62": b_var(512, 2),
    "63": a_var(163, 2),
    "64": b_fixed(8),
}
# Fields of pyiso8583's spec must exist for every bit; unused ones are never set.
for i in range(1, 129):
    SPEC.setdefault(str(i), a_var(999, 2))

TRACKS = {"35", "36"}
BINARY = {"52", "55", "62", "64"}


def to_wire(fields):
    """posconf value convention -> pyiso8583 input (tracks: '=' -> 'D')."""
    return {k: (v.replace("=", "D") if k in TRACKS else v) for k, v in fields.items()}
