"""A Python process SIGKILLed mid-write loses no acknowledged commit and half-applies none.

As tests/db_crash.rs does for Rust: a child (crash_child.py) commits in a loop through the
Python package (batches of inserts, upserts, deletes and auto-id inserts, and import_codes with
and without ids; flushes and compactions now and then) and prints each commit's
acknowledgement after commit returns; the parent kills it with SIGKILL at a seeded random
moment, runs hamdb.verify on the file as the kill left it, reopens it, and compares every live
item (id, code, label, payload) with a replay of the acknowledged commits. The file must hold
exactly those, or those plus the one commit in flight when the kill landed, whole (durable but
not yet acknowledged); anything else (a lost acknowledged commit, a partial batch or import)
fails. The next child resumes from there. HAMDB_PY_CRASH_ROUNDS sets the number of kills.
"""

import os
import random
import signal
import subprocess
import sys
import time

import crash_child as w
import hamdb

ROUNDS = int(os.environ.get("HAMDB_PY_CRASH_ROUNDS", "30"))
CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "crash_child.py")


def live(db):
    """Every live item, id -> (code, label, payload) (a radius search reaching every code)."""
    hits = db.search_radius(bytes(w.BITS // 8), w.BITS)
    out = {}
    for h in hits:
        it = db.get(h.id)
        out[h.id] = (it.code, it.label, it.payload)
    assert len(out) == len(hits) == len(db)
    return out


def difference(got, want):
    missing = sorted(set(want) - set(got))[:10]
    extra = sorted(set(got) - set(want))[:10]
    changed = sorted(i for i in set(got) & set(want) if got[i] != want[i])[:10]
    return f"missing {missing}, extra {extra}, changed {changed}"


def in_flight(model, got, c):
    """The model after commit c too, its auto ids read off the file (the ids above ANCHOR that
    the model lacks, ascending: they are assigned in order); None if they do not fit."""
    fresh = sorted(i for i in got if i > w.ANCHOR and i not in model)
    if len(fresh) != w.auto_count(c):
        return None
    after = dict(model)
    w.apply(after, c, fresh)
    return after


def run_child(path, start, rng):
    """Start a child at commit `start`, SIGKILL it after a random delay; its ack lines."""
    child = subprocess.Popen(
        [sys.executable, CHILD, path, str(start)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        first = child.stdout.readline()
        assert first == b"ready\n", f"child did not start: {first!r} {child.stderr.read()!r}"
        time.sleep(rng.uniform(0.0, 0.25))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        rest = child.stdout.read()
        err = child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()
    # Killed by us, not exited by itself (a failed commit raises and exits 1).
    assert child.returncode == -signal.SIGKILL, f"child exited {child.returncode}: {err!r}"
    return rest.decode().splitlines()


def test_sigkill_loses_no_acknowledged_commit(tmp_path):
    path = str(tmp_path / "crash.hamdb")
    with hamdb.create(path, w.BITS) as db:
        b = hamdb.WriteBatch()
        b.insert(w.ANCHOR, bytes(8), None, b"anchor")
        db.commit(b)
    model = {w.ANCHOR: (bytes(8), None, b"anchor")}
    rng = random.Random(2026)
    done = 0  # commits 0..done are known durable and applied to model
    unacked_durable = 0
    for round_ in range(ROUNDS):
        acks = run_child(path, done, rng)
        for line in acks:
            parts = line.split()
            assert parts[0] == "ack" and int(parts[1]) == done, (round_, line, done)
            w.apply(model, done, map(int, parts[2:]))
            done += 1
        # The file as the kill left it passes every check, before any reopen recovers it.
        hamdb.verify(path)
        with hamdb.open(path) as db:
            got = live(db)
        if got != model:
            after = in_flight(model, got, done)
            assert after is not None and got == after, (
                f"round {round_}: the file holds neither the {done} acknowledged commits nor "
                f"them and commit {done} whole: {difference(got, model)}"
            )
            model = after
            done += 1
            unacked_durable += 1
    v = hamdb.verify(path)
    assert v["items"] == len(model)
    assert done > 3 * ROUNDS, f"the child must make progress between kills ({done} commits)"
    kinds = {w.kind(c) for c in range(done)}
    assert kinds == {"batch", "import", "import_auto"}
    print(f"{ROUNDS} kills, {done} commits, {unacked_durable} durable but unacknowledged")


def test_replay_model_matches_an_uninterrupted_run(tmp_path):
    """The parent's replay (crash_child.apply) agrees with the database on a run without
    kills, so a crash-test failure is the database's, not the model's."""
    path = str(tmp_path / "plain.hamdb")
    with hamdb.create(path, w.BITS) as db:
        b = hamdb.WriteBatch()
        b.insert(w.ANCHOR, bytes(8), None, b"anchor")
        db.commit(b)
        model = {w.ANCHOR: (bytes(8), None, b"anchor")}
        for c in range(70):
            info = w.commit(db, c)
            w.apply(model, c, info.assigned_ids)
            if c % 25 == 24:
                db.flush()
        assert live(db) == model
        assert info.assigned_ids and all(k > w.ANCHOR for k in info.assigned_ids)
