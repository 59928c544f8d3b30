"""The Python side of the differential test (ffi/ffi.mk, test-diff), through the public API only.

    python hamdb_ops.py ops SEED STEPS PATH   the seeded operation sequence of
                                              ffi/capi/examples/ffi_ops.rs, call for call, and
                                              its canonical dump (byte-identical to Rust's, C's
                                              and Go's)
    python hamdb_ops.py images MODEL SAMPLES N PATH
                                              the image calls of ffi_ops.rs (insert files,
                                              classify, search by image), same dump
    python hamdb_ops.py dump PATH             the canonical state of any database file (opened
                                              read-only): verify, stats, every live item, and a
                                              fixed set of seeded searches

Every Rust call has its Python counterpart: a fresh snapshot searched once is
``db.snapshot().search``, a batch's reuse after a commit is ``WriteBatch.clear()``, a commit's
``maint=`` is the status of ``CommitInfo.maintenance_error`` (0 when None).
"""

import os
import struct
import sys

import hamdb

MASK64 = (1 << 64) - 1

# Exception class -> the C status name (hamdb.STATUS). Written out rather than read from the
# package's private table so that a class raised for the wrong status breaks the diff.
STATUS_NAMES = {
    hamdb.UnsupportedCodeLengthError: "UNSUPPORTED_CODE_LENGTH",
    hamdb.CodeLengthError: "CODE_LENGTH_MISMATCH",
    hamdb.RaggedCodeBufferError: "RAGGED_CODE_BUFFER",
    hamdb.InvalidHexError: "INVALID_HEX",
    hamdb.InvalidParameterError: "INVALID_PARAMETER",
    hamdb.TooManyCodesError: "TOO_MANY_CODES",
    hamdb.IoError: "IO",
    hamdb.NotADatabaseError: "NOT_A_DATABASE",
    hamdb.UnsupportedFormatVersionError: "UNSUPPORTED_FORMAT_VERSION",
    hamdb.CorruptError: "CORRUPT",
    hamdb.LockedError: "LOCKED",
    hamdb.ReadOnlyError: "READ_ONLY",
    hamdb.PoisonedError: "POISONED",
    hamdb.DuplicateIdError: "DUPLICATE_ID",
    hamdb.EncoderMismatchError: "ENCODER_MISMATCH",
    hamdb.RuntimeLoadError: "RUNTIME",
    hamdb.ModelContractError: "MODEL_CONTRACT",
    hamdb.InferenceError: "INFERENCE",
    hamdb.ImageError: "IMAGE",
    hamdb.ImageTooLargeError: "IMAGE_TOO_LARGE",
    hamdb.NoEncoderError: "NO_ENCODER",
    hamdb.ClosedError: "CLOSED",
    hamdb.OtherError: "OTHER",
}


class Rng:
    """splitmix64, the generator of ffi_ops.rs, ops.c and hamdb-ops (same seed, same stream)."""

    def __init__(self, seed):
        self.s = seed & MASK64

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)


def code32(v):
    """A 32-bit code: v's big-endian bytes (Rust's `Code::from_bytes(&v.to_be_bytes())`)."""
    return struct.pack(">I", v)


def status(e):
    """The C status code of a hamdb exception (anything else propagates: a crash, not a diff)."""
    return hamdb.STATUS[STATUS_NAMES[type(e)]]


def label_str(label):
    return "-" if label is None else str(label)


def hits_line(call, hexpayload=False):
    """' ok id:dist:label:payload ...' or ' err STATUS' for a search call, as the others print."""
    try:
        hits = call()
    except hamdb.Error as e:
        return f" err {status(e)}"
    # Payloads are ASCII in `ops`; Rust prints them with from_utf8_lossy, which 'replace' matches.
    pay = (lambda p: p.hex()) if hexpayload else (lambda p: p.decode("utf-8", "replace"))
    return " ok" + "".join(
        f" {h.id}:{h.distance}:{label_str(h.label)}:{pay(h.payload)}" for h in hits
    )


def ops(seed, steps, path):
    """The operation sequence of ffi_ops.rs `ops`; returns the dump's lines."""
    if os.path.exists(path):
        os.remove(path)
    db = hamdb.create(path, 32, b"diff")
    rng = Rng(seed)
    batch = hamdb.WriteBatch()
    out = []
    for step in range(steps):
        r = rng.next() % 100
        if r < 50:
            id_ = rng.next() % 1000
            c = rng.next() & 0xFFFFFFFF
            lab = rng.next() % 4
            label = None if lab == 3 else lab
            payload = f"i{step}".encode()
            if r < 30:
                batch.insert(id_, code32(c), label, payload)
            elif r < 40:
                batch.insert_auto(code32(c), label, payload)
            else:
                batch.upsert(id_, code32(c), label, payload)
        elif r < 60:
            batch.delete(rng.next() % 1000)
        elif r < 75:
            try:
                info = db.commit(batch)
                maint = 0 if info.maintenance_error is None else status(info.maintenance_error)
                line = f"commit 0 txn={info.txn} maint={maint}" + "".join(
                    f" {i}" for i in info.assigned_ids
                )
            except hamdb.Error as e:
                line = f"commit {status(e)}"
            out.append(line)
            # The Rust API consumes a batch even when its commit fails; a Python batch is kept
            # (committing it again repeats it): clear it.
            batch.clear()
        elif r < 78:
            out.append(f"flush {void_status(db.flush)}")
        elif r < 80:
            out.append(f"compact {void_status(db.compact)}")
        else:
            q = rng.next() & 0xFFFFFFFF
            p = rng.next()
            cls = rng.next() % 4 if rng.next() % 3 == 0 else None
            cs = "*" if cls is None else str(cls)
            # As in Rust: a fresh snapshot, searched once.
            if r < 92:
                k = p % 10
                out.append(
                    f"knn {q:08x} {k} {cs}"
                    + hits_line(lambda: db.snapshot().search(code32(q), k, cls))
                )
            else:
                radius = p % 8
                out.append(
                    f"radius {q:08x} {radius} {cs}"
                    + hits_line(lambda: db.snapshot().search_radius(code32(q), radius, cls))
                )
    out.append(f"final commit {void_status(lambda: db.commit(batch))}")
    s = db.stats()
    out.append(
        f"stats items={s['items']} segments={s['segments']} delta={s['delta_items']} "
        f"deleted={s['deleted_in_segments']} txn={s['txn']}"
    )
    out.append("all" + hits_line(lambda: db.search_radius(code32(0), 32)))
    out.extend(state(db))
    db.close()
    return out


def void_status(call):
    """0 if call() returns, else the status of its hamdb exception."""
    try:
        call()
        return 0
    except hamdb.Error as e:
        return status(e)


def seeded_code(rng, nbytes):
    """nbytes of code: each rng word's bytes, most significant first (as the other dumps)."""
    out = bytearray()
    while len(out) < nbytes:
        out += rng.next().to_bytes(8, "big")
    return bytes(out[:nbytes])


def state(db):
    """The canonical state of an open database: stats, every live item by id, seeded searches.

    There is no iteration API in any binding: the items are found by a radius search that
    reaches every code (radius = bits), then read one by one with get(). `live` (the number
    found) must equal `items` of stats, which a reader checks by eye and the diff by value.
    """
    bits = db.bits
    nbytes = bits // 8
    s = db.stats()
    out = [
        f"state bits={bits} txn={s['txn']} items={s['items']} segments={s['segments']} "
        f"segment_items={s['segment_items']} delta={s['delta_items']} "
        f"deleted={s['deleted_in_segments']} file_bytes={s['file_bytes']}"
    ]
    ids = sorted(h.id for h in db.search_radius(bytes(nbytes), bits))
    out.append(f"live {len(ids)}")
    for i in ids:
        it = db.get(i)
        out.append(f"item {it.id} {label_str(it.label)} {it.code.hex()} {it.payload.hex()}")
    rng = Rng(0xD0D0)
    for n in range(32):
        q = seeded_code(rng, nbytes)
        p = rng.next()
        cls = rng.next() % 4 if rng.next() % 3 == 0 else None
        cs = "*" if cls is None else str(cls)
        if n % 2 == 0:
            k = p % 12
            out.append(f"knn {q.hex()} {k} {cs}" + hits_line(lambda: db.search(q, k, cls), True))
        else:
            radius = p % (bits // 4 + 1)
            out.append(
                f"radius {q.hex()} {radius} {cs}"
                + hits_line(lambda: db.search_radius(q, radius, cls), True)
            )
    return out


def dump(path):
    """verify's report, then the state of the file opened read-only."""
    v = hamdb.verify(path)
    out = [
        f"verify txn={v['txn']} segments={v['segments']} items={v['items']} "
        f"delta_batches={v['delta_batches']}"
    ]
    with hamdb.open(path, read_only=True) as db:
        out.extend(state(db))
    return out


def images(model, samples, n, path):
    """ffi_ops.rs `images`: n sample files and one missing file inserted, then every third one
    classified and searched by image (radius 3 or k = 5, with a class filter on odd ones)."""
    if os.path.exists(path):
        os.remove(path)
    enc = hamdb.Encoder.load(model)
    db = hamdb.create_for_model(path, enc)
    paths = [f"{samples}/images/{i:05}.png" for i in range(n)] + [f"{samples}/images/missing.png"]
    report = db.insert_images(enc, paths)
    out = [f"inserted {report.inserted} txn {report.txn}"]
    failed = {f.index: f for f in report.failures}
    for i, id_ in enumerate(report.ids):
        if id_ is None:
            out.append(f"item {i} err {status(failed[i].error)}")
        else:
            out.append(f"item {i} ok {id_}")
    bits = lambda p: struct.unpack(">I", struct.pack(">f", p))[0]  # noqa: E731 (f32 bits)
    for q in range(0, n, 3):
        img = open(paths[q], "rb").read()
        code, label, prob = enc.encode(img)
        out.append(f"classify {q} {code.hex()} {label} {bits(prob):08x}")
        cls = label if q % 2 == 1 else None
        reach = {"radius": 3} if q % 4 == 0 else {"k": 5}
        r = db.search_image(enc, img, label=cls, **reach)
        out.append(f"query {q} {r.label} {bits(r.probability):08x}" + hits_line(lambda: r.hits))
    db.close()
    return out


def main(argv):
    if len(argv) == 5 and argv[1] == "ops":
        lines = ops(int(argv[2]), int(argv[3]), argv[4])
    elif len(argv) == 6 and argv[1] == "images":
        lines = images(argv[2], argv[3], int(argv[4]), argv[5])
    elif len(argv) == 3 and argv[1] == "dump":
        lines = dump(argv[2])
    else:
        sys.stderr.write(
            "usage: hamdb_ops.py ops SEED STEPS PATH | images MODEL SAMPLES N PATH | dump PATH\n"
        )
        return 2
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
