"""A process SIGKILLed in the middle of insert_images keeps every image its progress reported
as committed, each stored whole (code, class, payload) and nothing half-written.

The child ingests the sample images (four passes, commits of 100) and prints the `committed`
count of each progress report, flushed: those items were in durable commits when it printed.
The parent kills it once the count passes a seeded threshold, verifies the file as left,
reopens it and checks that it holds at least the reported items, each equal to encoding its
payload's file again, with ids dense from 0 (ingestion assigns them in input order).
"""

import os
import random
import signal
import subprocess
import sys
import textwrap

import numpy as np

import hamdb
from conftest import model_path, sample_files

CHILD = textwrap.dedent(
    """
    import sys, hamdb
    from conftest import model_path, sample_files
    enc = hamdb.Encoder.load(model_path(48))
    db = hamdb.open(sys.argv[1]) if sys.argv[2] == "open" else hamdb.create_for_model(sys.argv[1], enc)
    def report(done, failed, committed):
        print(committed, flush=True)
    db.insert_images(enc, sample_files() * 4, progress=report, batch_size=32, commit_every=100)
    print("finished", flush=True)
    """
)


def test_kill_mid_insert_images_keeps_every_reported_commit(tmp_path, enc48):
    rng = random.Random(13)
    path = str(tmp_path / "kill.hamdb")
    here = os.path.dirname(os.path.abspath(__file__))
    prev = 0
    for round_ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, path, "open" if round_ else "create"],
            stdout=subprocess.PIPE,
            text=True,
            cwd=here,
        )
        threshold = rng.randrange(200, 2500)
        reported = 0
        for line in proc.stdout:
            line = line.strip()
            if line == "finished":
                break
            reported = max(reported, int(line))
            if reported >= threshold:
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGKILL, f"round {round_}: the child ended on its own"
        before = hamdb.verify(path)["items"]
        with hamdb.open(path) as db:
            n = len(db)
            assert n == before
            # This round's child started from the previous rounds' items.
            assert n >= prev + reported, (n, prev, reported)
            hits = db.search_radius(bytes(6), 48)
            ids = sorted(h.id for h in hits)
            assert ids == list(range(n)), "ids are not dense: an item is missing"
            sample = [db.get(i) for i in rng.sample(ids, 40)]
        codes, labels, _ = enc48.encode([it.payload.decode() for it in sample])
        for it, code, label in zip(sample, codes, labels):
            assert it.code == bytes(code) and it.label == label
        assert len(sample_files()) * 4 * (round_ + 1) >= n
        prev = n
