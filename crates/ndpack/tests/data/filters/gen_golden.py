"""Writes the golden vectors of the filter codecs with numcodecs (run once; output committed).

Each <codec>.json is a list of cases: the codec config, an input array (dtype + hex bytes) and
numcodecs' encoded array (dtype + hex), and the decoded array (dtype + hex) of those encoded
bytes. Decode-only cases have no input. Run: python3 gen_golden.py (numcodecs 0.16.6, numpy 2.4).
"""
import json
import os
import warnings

import numcodecs
import numpy as np

warnings.simplefilter("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(12345)

INTS = ["|i1", "|u1", "<i2", ">i2", "<u2", "<i4", ">u4", "<u4", "<i8", ">i8", "<u8"]
FLOATS = ["<f2", ">f2", "<f4", ">f4", "<f8", ">f8"]


def arr_case(a):
    a = np.ascontiguousarray(a)
    return a.dtype.str, a.tobytes().hex()


def case(codec, x=None, enc=None):
    c = {"config": codec.get_config()}
    dt = c["config"].get("dtype", c["config"].get("decode_dtype"))
    if x is not None and dt is not None and dt != "|O":
        assert x.dtype == np.dtype(dt) and x.dtype.str == dt, (x.dtype.str, dt)
    if x is not None:
        enc = codec.encode(x)
        c["dtype"], c["input"] = arr_case(x)
    enc = np.asarray(enc)
    c["enc_dtype"], c["encoded"] = arr_case(enc)
    dec = codec.decode(enc)
    if dec.dtype == object:
        n = max([1] + [len(s) for s in dec.tolist()])
        dec = np.array(dec.tolist(), dtype=f"<U{n}")
    c["dec_dtype"], c["decoded"] = arr_case(dec)
    return c


def sample(dt, n=40):
    dt = np.dtype(dt)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        edge = [info.min, info.max, 0, 1, info.max - 1, info.min + 1]
        vals = rng.integers(info.min, info.max, size=n - len(edge), dtype=dt.newbyteorder("="), endpoint=True)
        return np.concatenate([np.array(edge, dtype=dt), vals.astype(dt)]).astype(dt)
    if dt.kind == "b":
        return rng.integers(0, 2, size=n).astype(bool)
    vals = np.concatenate([
        np.array([0.0, -0.0, 0.5, 1.5, 2.5, -0.5, -2.5, 1e-3, 123.456, -7.75, 65000.0]),
        rng.normal(0, 100, n - 11),
    ])
    return vals.astype(dt)


def write(name, cases):
    with open(os.path.join(HERE, f"{name}.json"), "w") as f:
        json.dump(cases, f, indent=0)
    print(name, len(cases))


def delta():
    cases = []
    for dt in INTS + FLOATS + ["|b1"]:
        cases.append(case(numcodecs.Delta(dtype=dt), sample(dt)))
    for dt, at in [("<i8", "|i1"), ("|i1", "<i8"), ("<u2", "<i2"), ("|u1", "<i2"), ("<f8", "<i2"),
                   ("<f4", "<f2"), ("<f2", ">f8"), ("<i4", "<f8"), (">u4", "<i4"), ("|b1", "<i2"),
                   ("<i2", "|b1"), ("<i4", ">f4"), ("<u8", "<f8")]:
        x = sample(dt)
        if np.dtype(at).kind in "iu" and np.dtype(dt).kind == "f":
            x = np.round(x[np.isfinite(x)] / 10).astype(dt)
        elif np.dtype(at).kind in "iu" and np.dtype(dt).kind in "iu":
            x = rng.integers(0, 100, 40).astype(dt)  # first item must fit astype
        cases.append(case(numcodecs.Delta(dtype=dt, astype=at), x))
    # decode-only: astype values that accumulate in the promoted type
    for dt, at, enc in [("|i1", "<f8", [1.7, 2.7, 100.9, 100.9]), ("<i8", "|i1", [100, 100, 100]),
                        ("|u1", "<i2", [200, 100, -50]), ("<f2", "<f8", [1, .1, .1, .1, 1000, .1]),
                        ("<i2", "|b1", [1, 0, 1, 1]), ("<f4", "<f2", [1, .1, .1, .1, 1000, .1])]:
        cases.append(case(numcodecs.Delta(dtype=dt, astype=at), enc=np.array(enc, dtype=at)))
    write("delta", cases)


def fixedscaleoffset():
    cases = []
    f = np.array([0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.25, 1000, 1000.11, 1000.5, 999.5, -3.75, 1e-9, 12.345], "f8")
    for dt in FLOATS:
        x = f.astype(dt)
        for off, sc, at in [(0, 1, None), (1000, 10, "<i4"), (1000.0, 10.0, "<i2"), (0.5, 2.5, ">i8"),
                            (-1, 0.1, "<f4"), (0, 3, "<f2"), (1000, 100, "<i8"), (12.34, 7, "<u4")]:
            x2 = x
            if at == "<u4":
                x2 = (np.abs(x) + np.asarray(12.34, dtype=dt)).astype(dt)
            cases.append(case(numcodecs.FixedScaleOffset(offset=off, scale=sc, dtype=dt, astype=at), x2))
    for dt in INTS:
        x = (sample(dt, 30) // 4).astype(dt)
        for off, sc, at in [(0, 1, None), (3, 2, None), (1.5, 2, "<f8"), (1, 0.5, "<f4"), (2, 3.0, "<i8"),
                            (0.25, 0.5, "<f2")]:
            cases.append(case(numcodecs.FixedScaleOffset(offset=off, scale=sc, dtype=dt, astype=at), x))
    # NaN and inf in floats
    x = np.array([np.nan, np.inf, -np.inf, 1.0], "<f8")
    cases.append(case(numcodecs.FixedScaleOffset(offset=1, scale=2, dtype="<f8"), x))
    cases.append(case(numcodecs.FixedScaleOffset(offset=1, scale=2, dtype="<f8", astype="<i8"), x))
    cases.append(case(numcodecs.FixedScaleOffset(offset=1, scale=2, dtype="<f8", astype="|i1"), x))
    write("fixedscaleoffset", cases)


def quantize():
    cases = []
    for dt in FLOATS:
        x = np.concatenate([np.linspace(-3, 3, 37), [0.5, 1.5, 2.5, 1e-5, 123456.789, np.nan, np.inf, -np.inf]]).astype(dt)
        for digits in [-2, -1, 0, 1, 2, 3, 5, 7, 10]:
            cases.append(case(numcodecs.Quantize(digits=digits, dtype=dt), x))
        for at in ["<f2", "<f4", ">f8"]:
            cases.append(case(numcodecs.Quantize(digits=2, dtype=dt, astype=at), x))
    write("quantize", cases)


def bitround():
    cases = []
    for dt, bits in [("<f2", 10), ("<f4", 23), ("<f8", 52)]:  # numcodecs rejects big-endian
        x = np.concatenate([rng.normal(0, 1000, 40), [0.0, -0.0, np.nan, np.inf, -np.inf, 1.5, 3.14159, 1e-300, 65504]]).astype(dt)
        for kb in sorted({0, 1, 2, 3, 5, 7, 9, 10, 16, 23, 30, 51, 52}):
            if kb <= bits:
                cases.append(case(numcodecs.BitRound(keepbits=kb), x))
    write("bitround", cases)


def packbits():
    cases = []
    for n in [0, 1, 2, 7, 8, 9, 15, 16, 17, 100]:
        cases.append(case(numcodecs.PackBits(), rng.integers(0, 2, n).astype(bool)))
    cases.append(case(numcodecs.PackBits(), np.array([0, 1, 2, 255, 0, 7], dtype="|u1")))
    write("packbits", cases)


def categorize():
    cases = []
    labels = ["ß", "female", "male", "", "日本", "abcdefgh"]
    vals = ["male", "female", "", "ß", "日本", "abc", "abcdefgh", "unexpected", "mal", "male"]
    for dt in ["<U6", ">U8", "<U3", "<U10"]:
        n = int(dt[2:])
        x = np.array([v[:n] for v in vals], dtype=dt)
        for at in ["|u1", "<i2", ">u4", "<i8", "<f4"]:
            cases.append(case(numcodecs.Categorize(labels=labels, dtype=dt, astype=at), x))
        cases.append(case(numcodecs.Categorize(labels=["a", "b", "a"], dtype=dt), np.array(["a", "b", "c", ""], dtype=dt)))
    x = np.array(vals, dtype=object)
    for at in ["|u1", "<u2"]:
        c = case(numcodecs.Categorize(labels=labels, dtype=object, astype=at), x)
        c["dtype"], c["input"] = arr_case(np.array(vals, dtype="<U10"))
        cases.append(c)
    write("categorize", cases)


def astype():
    cases = []
    types = ["|b1", "|i1", "|u1", "<i2", ">u2", "<i4", ">i4", "<u4", "<i8", ">u8", "<u8", "<f2", ">f2", "<f4", ">f8", "<f8"]
    fvals = np.array([0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, 127.9, 128.5, 255.5, 256.7, -129.5, 40000.7, -40000.7,
                      65519.0, 65520.0, 2049.0, 2051.0, 2049.0000001, 1e-8, 3e9, -3e9, 5e9, 1e19, -1e19, 1.8e19,
                      np.nan, np.inf, -np.inf, 1e300, -2.0 ** 31 - 1, 2.0 ** 63, 2.0 ** 64, 123456789.123], "f8")
    for dec in types:
        d = np.dtype(dec)
        if d.kind == "f":
            x = fvals.astype(dec)
        else:
            x = sample(dec, 30)
        for enc in types:
            e = np.dtype(enc)
            x2 = x
            if d.kind == "f" and e.str[1:] == "u4":
                # NumPy's SIMD loops give position-dependent results out of u4's range
                with np.errstate(all="ignore"):
                    x2 = x[np.isfinite(x) & (x > -2.0 ** 31) & (x < 2.0 ** 32)]
            cases.append(case(numcodecs.AsType(encode_dtype=enc, decode_dtype=dec), x2))
    write("astype", cases)


def shuffle():
    cases = []
    for es in [0, 1, 2, 3, 4, 8, 16]:
        for n in [0, 1, 5, 33]:
            x = rng.integers(0, 256, max(es, 1) * n, dtype="u1")
            cases.append(case(numcodecs.Shuffle(elementsize=es), x))
    cases.append(case(numcodecs.Shuffle(), sample("<f8", 12)))
    write("shuffle", cases)


for fn in [delta, fixedscaleoffset, quantize, bitround, packbits, categorize, astype, shuffle]:
    fn()
