"""hamdb_ops.py, Python's side of test-diff (ffi/ffi.mk), checked on its own.

test-diff compares its output with Rust's, C's and Go's; these keep it honest between runs
of that target: its status table covers every exception class with a real status, its dump of
a file equals the in-process state it printed when writing it, and it is deterministic.
"""

import hamdb
import hamdb_ops


def test_status_table_covers_every_error_class():
    classes = {
        c for c in vars(hamdb).values() if isinstance(c, type) and issubclass(c, hamdb.Error)
    }
    assert set(hamdb_ops.STATUS_NAMES) == classes - {hamdb.Error}
    assert set(hamdb_ops.STATUS_NAMES.values()) == set(hamdb.STATUS)


def test_status_of_a_raised_error(tmp_path):
    b = hamdb.WriteBatch()
    b.insert(1, bytes(4))
    with hamdb.create(str(tmp_path / "s.hamdb"), 32) as db:
        db.commit(b)
        try:
            db.commit(b)  # a batch is kept: committing it again repeats the insert
        except hamdb.Error as e:
            assert hamdb_ops.status(e) == hamdb.STATUS["DUPLICATE_ID"]
        else:
            raise AssertionError("a repeated insert must fail")


def test_dump_of_the_file_equals_the_state_the_writer_printed(tmp_path):
    path = str(tmp_path / "ops.hamdb")
    lines = hamdb_ops.ops(5, 600, path)
    state = lines[next(i for i, l in enumerate(lines) if l.startswith("state ")) :]
    assert any(l.startswith("commit 0 txn=") for l in lines)
    assert sum(l.startswith("item ") for l in state) > 50
    dump = hamdb_ops.dump(path)
    assert dump[0].startswith("verify ") and dump[1:] == state
    assert hamdb_ops.ops(5, 600, path) == lines
