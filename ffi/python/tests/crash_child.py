"""The workload of test_crash.py, and the child process that runs it until it is SIGKILLed.

    python crash_child.py PATH START

opens PATH, prints ``ready``, then makes commits START, START+1, ... for ever: commit ``c``
is `ops(c)` (a batch of inserts, upserts, deletes and auto-id inserts) or, every 7th, an
`import_codes` (with ids, or every 14th without). After each commit returns it prints ``ack c
ID...`` (the assigned ids) and flushes, so every line the parent reads is a commit that was
durable before the line was written. It also flushes and compacts now and then, so that kills
land in those too.

Commit ``c`` is a function of ``c`` alone (and, for auto ids, of what the database assigns): the
parent replays the acknowledged commits on a dict (`apply`) and compares.
"""

import struct
import sys

import numpy as np

import hamdb

BITS = 64
PER = 8  # explicit inserts per batch commit
# One item at ANCHOR is inserted before the workload: auto ids (one past the highest id ever
# stored) are then above it, so they never collide with the workload's explicit ids below it.
ANCHOR = 1 << 40
IMPORT_BASE = 1 << 32  # explicit import ids: IMPORT_BASE + c * IMPORT_N + j
IMPORT_N = 20
MASK64 = (1 << 64) - 1


def mix(x):
    """splitmix64's finaliser: a well-spread 64-bit value of x."""
    z = (x + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def code(c, j):
    return struct.pack(">Q", mix(c * 4096 + j))


def kind(c):
    """'import' (with ids), 'import_auto' (without) or 'batch'."""
    if c % 14 == 13:
        return "import_auto"
    return "import" if c % 7 == 6 else "batch"


def ops(c):
    """Commit c's batch operations, in order: ('insert'|'upsert', id, code, label, payload),
    ('auto', None, code, label, payload) or ('delete', id)."""
    out = []
    for i in range(PER):
        id_ = c * PER + i
        out.append(("insert", id_, code(c, i), None if i == 7 else id_ % 5, b"i%d" % id_))
    # Upserts replace earlier items (or re-create deleted ones); deletes remove some, one of
    # them inserted in this very batch (applied in order: gone at the end).
    for id_ in ((c - 1) * PER + 1, (c // 2) * PER + 2):
        if id_ >= 0:
            out.append(("upsert", id_, code(c, 100 + id_ % 7), 4, b"u%d" % c))
    for id_ in (c * PER - 3, (c // 3) * PER + 5, c * PER + 6):
        if id_ >= 0:
            out.append(("delete", id_))
    if c % 3 == 0:
        for j in range(2):
            out.append(("auto", None, code(c, 200 + j), j, b"a%d:%d" % (c, j)))
    return out


def import_rows(c):
    """Commit c's import: (codes uint8 [IMPORT_N, 8], ids uint64 or None, labels uint32)."""
    codes = np.frombuffer(b"".join(code(c, 300 + j) for j in range(IMPORT_N)), np.uint8)
    codes = codes.reshape(IMPORT_N, BITS // 8)
    labels = np.arange(IMPORT_N, dtype=np.uint32) % 3
    ids = None
    if kind(c) == "import":
        ids = np.arange(IMPORT_N, dtype=np.uint64) + np.uint64(IMPORT_BASE + c * IMPORT_N)
    return codes, ids, labels


def auto_count(c):
    """How many ids commit c has assigned to it."""
    if kind(c) == "import_auto":
        return IMPORT_N
    if kind(c) == "import":
        return 0
    return sum(1 for op in ops(c) if op[0] == "auto")


def apply(model, c, assigned):
    """Commit c applied to model (id -> (code, label, payload)), its auto ids `assigned`."""
    assigned = list(assigned)
    assert len(assigned) == auto_count(c), (c, assigned)
    if kind(c) != "batch":
        codes, ids, labels = import_rows(c)
        for j in range(IMPORT_N):
            id_ = assigned[j] if ids is None else int(ids[j])
            model[id_] = (codes[j].tobytes(), int(labels[j]), b"")
        return
    auto = iter(assigned)
    for op in ops(c):
        if op[0] == "delete":
            model.pop(op[1], None)
        else:
            id_ = next(auto) if op[0] == "auto" else op[1]
            model[id_] = op[2:]


def commit(db, c):
    """Make commit c; its CommitInfo."""
    if kind(c) != "batch":
        codes, ids, labels = import_rows(c)
        return db.import_codes(codes, ids=ids, labels=labels)
    b = hamdb.WriteBatch()
    for op in ops(c):
        if op[0] == "insert":
            b.insert(op[1], op[2], op[3], op[4])
        elif op[0] == "upsert":
            b.upsert(op[1], op[2], op[3], op[4])
        elif op[0] == "auto":
            b.insert_auto(op[2], op[3], op[4])
        else:
            b.delete(op[1])
    return db.commit(b)


def main(path, start):
    db = hamdb.open(path)
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    # Bounded so that an orphan (the parent gone) stops by itself.
    for c in range(start, start + 100_000):
        info = commit(db, c)
        out.write("ack %d %s\n" % (c, " ".join(map(str, info.assigned_ids))))
        out.flush()
        if c % 25 == 24:
            db.flush()
        if c % 60 == 59:
            db.compact()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
