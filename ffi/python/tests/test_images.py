"""Images end to end with the real ONNX Runtime, the shipped models and the sample files:
encode in every input form, insert_images with its report, search_image, the wrong model,
broken images, progress, interruption."""

import csv
import io
import os
import signal
import threading

import numpy as np
import pytest
from PIL import Image

import hamdb
from conftest import SAMPLES, model_path, sample_files


def expected_codes(bits):
    with open(SAMPLES / f"expected_codes_{bits}.csv") as f:
        return [(str(SAMPLES / r["file"]), r["code_hex"], int(r["predicted_label"])) for r in csv.DictReader(f)]


def test_encoder_properties(enc48):
    assert enc48.bits == 48
    assert enc48.input_shape == (1, 28, 28)
    assert len(enc48.classes) == 10 and enc48.classes[1] == "Trouser"
    assert len(enc48.fingerprint) == 32
    assert "ssdh-fmnist-48" in repr(enc48) and enc48.name == "ssdh-fmnist-48"


def test_codes_match_the_python_reference_pipeline(enc48):
    """As tests/images.rs: >= 99% of bits and 99.5% of classes equal the reference pipeline's
    (float differences between ONNX Runtime and PyTorch flip a few near-0.5 activations)."""
    exp = expected_codes(48)
    codes, labels, probs = enc48.encode([f for f, _, _ in exp])
    assert codes.shape == (1000, 6) and codes.dtype == np.uint8
    assert labels.dtype == np.int64 and probs.dtype == np.float32
    want = np.array([list(bytes.fromhex(h)) for _, h, _ in exp], np.uint8)
    same_bits = 1 - np.unpackbits(codes ^ want).mean()
    same_class = (labels == np.array([c for _, _, c in exp])).mean()
    assert same_bits >= 0.99, same_bits
    assert same_class >= 0.995, same_class
    assert ((probs > 0) & (probs <= 1)).all()


def test_every_input_form_gives_the_same_code(enc48):
    f = sample_files(1)[0]
    want = enc48.encode(f)
    code, label, prob = want
    assert isinstance(code, bytes) and len(code) == 6 and isinstance(label, int)
    raw = open(f, "rb").read()
    gray = np.asarray(Image.open(f))
    assert gray.shape == (28, 28)
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    rgba = np.concatenate([rgb, np.full((28, 28, 1), 9, np.uint8)], axis=2)
    forms = [
        __import__("pathlib").Path(f),
        raw,
        bytearray(raw),
        memoryview(raw),
        gray,
        gray[:, :, None],
        rgb,
        rgba,
        np.asfortranarray(gray),  # read in logical order, whatever the strides
        Image.open(f),
        Image.open(f).convert("RGB"),
        Image.open(f).convert("P"),
    ]
    for form in forms:
        assert enc48.encode(form) == want, type(form)
    # A transposed view is a different image: read as displayed, not as memory lies.
    t = np.ascontiguousarray(gray.T)
    assert enc48.encode(gray.T) == enc48.encode(t)
    # A batch equals its items; a tuple and a generator are batches too.
    codes, labels, _ = enc48.encode([raw, gray, f])
    assert all(bytes(c) == code for c in codes) and list(labels) == [label] * 3
    assert enc48.encode((raw, gray))[0].shape == (2, 6)
    assert enc48.encode(x for x in [raw])[0].shape == (1, 6)
    empty = enc48.encode([])
    assert empty[0].shape == (0, 6) and empty[1].shape == (0,)


def test_broken_images_raise_naming_the_image(enc48, tmp_path):
    good = open(sample_files(1)[0], "rb").read()
    with pytest.raises(hamdb.ImageError, match="#1: .*not a PNG"):
        enc48.encode([good, b"garbage"])
    with pytest.raises(hamdb.ImageError, match="truncated|ends early|corrupt"):
        enc48.encode(good[: len(good) // 2])
    with pytest.raises(hamdb.ImageError, match="empty"):
        enc48.encode(b"")
    missing = str(tmp_path / "missing.png")
    with pytest.raises(hamdb.IoError, match="missing.png"):
        enc48.encode([missing])
    with pytest.raises(TypeError, match="dtype uint8"):
        enc48.encode(np.zeros((28, 28), np.float32))
    with pytest.raises(ValueError, match="1 \\(gray\\), 3 \\(RGB\\) or 4"):
        enc48.encode(np.zeros((28, 28, 2), np.uint8))
    with pytest.raises(ValueError, match="HxW"):
        enc48.encode(np.zeros((28,), np.uint8))
    with pytest.raises(TypeError, match="an image is a path"):
        enc48.encode(None)
    with pytest.raises(TypeError, match="an image is a path"):
        enc48.encode([1.5])
    with pytest.raises(hamdb.ImageError, match="0x28"):
        enc48.encode(np.zeros((28, 0), np.uint8))
    small = hamdb.Encoder.load(model_path(48), max_pixels=100)
    with pytest.raises(hamdb.ImageTooLargeError):
        small.encode(good)
    with pytest.raises(hamdb.ImageTooLargeError):
        small.encode(np.zeros((28, 28), np.uint8))


def test_models_that_break_the_contract_are_refused(tmp_path):
    model = open(model_path(48), "rb").read()
    for bad, needle in [
        (model.replace(b"hamdb.model_name", b"hamdb.model_nam_"), "hamdb.model_name` is missing"),
        (model.replace(b"latent", b"latenT"), "no output named `latent`"),
        (model[: len(model) // 3], "cannot load"),
        (b"not a model", "cannot load"),
    ]:
        with pytest.raises(hamdb.ModelContractError, match=needle):
            hamdb.Encoder.load(bad)
        p = tmp_path / "bad.onnx"
        p.write_bytes(bad)
        with pytest.raises(hamdb.ModelContractError, match=needle):
            hamdb.Encoder.load(p)
    with pytest.raises(hamdb.IoError):
        hamdb.Encoder.load(tmp_path / "absent.onnx")
    with pytest.raises(TypeError, match="a model is a path"):
        hamdb.Encoder.load(None)
    with pytest.raises(hamdb.InvalidParameterError, match="sessions"):
        hamdb.Encoder.load(model_path(48), sessions=65)


def test_insert_images_and_search_image(enc48, tmp_path):
    files = sample_files(300)
    db = hamdb.create_for_model(str(tmp_path / "img.hamdb"), enc48)
    good = open(files[0], "rb").read()
    sources = files[:100] + [
        str(tmp_path / "missing.png"),
        b"garbage",
        (good, b"my payload"),
        (np.asarray(Image.open(files[1])), b"from pixels"),
    ]
    r = db.insert_images(enc48, sources, batch_size=16, commit_every=40)
    assert r.inserted == 102 and len(r.ids) == 104 and r.txn > 0
    assert [f.index for f in r.failures] == [100, 101]
    assert isinstance(r.failures[0].error, hamdb.IoError) and "missing.png" in r.failures[0].source
    assert isinstance(r.failures[1].error, hamdb.ImageError) and r.failures[1].source == "#101"
    assert r.ids[100] is None and r.ids[101] is None
    ids = [i for i in r.ids if i is not None]
    assert ids == sorted(ids) and len(set(ids)) == 102  # assigned in input order
    codes, labels, _ = enc48.encode(files[:100])
    for i in (0, 57, 99):
        it = db.get(r.ids[i])
        assert it.code == bytes(codes[i]) and it.label == labels[i]
        assert it.payload == files[i].encode()
    assert db.get(r.ids[102]).payload == b"my payload"
    assert db.get(r.ids[103]).code == bytes(codes[1])

    q = db.search_image(enc48, files[7], k=5)
    assert q.code == bytes(codes[7]) and q.label == labels[7]
    assert q.class_name == enc48.classes[q.label] and 0 < q.probability <= 1
    assert len(q.hits) == 5 and q.hits[0].distance == 0
    # Equal to a search by the code itself.
    assert [(h.id, h.distance) for h in q.hits] == [(h.id, h.distance) for h in db.search(q.code, 5)]
    qr = db.search_image(enc48, Image.open(files[7]), radius=3)
    assert [(h.id, h.distance) for h in qr.hits] == [
        (h.id, h.distance) for h in db.search_radius(q.code, 3)
    ]
    other = (q.label + 1) % 10
    assert all(h.label == other for h in db.search_image(enc48, files[7], k=5, label=other).hits)
    assert len(db.search_image(enc48, files[7]).hits) == 10  # default k
    with pytest.raises(ValueError, match="not both"):
        db.search_image(enc48, files[7], k=3, radius=2)
    with pytest.raises(hamdb.ImageError):
        db.search_image(enc48, b"garbage")

    # A generator streams, and the file reopens with everything committed.
    r2 = db.insert_images(enc48, (f for f in files[100:300]))
    assert r2.inserted == 200
    db.close()
    with hamdb.open(str(tmp_path / "img.hamdb")) as again:
        assert len(again) == 302
    assert hamdb.verify(str(tmp_path / "img.hamdb"))["items"] == 302


def test_the_wrong_model_and_no_model_are_refused(enc48, tmp_path):
    f = sample_files(1)[0]
    enc16 = hamdb.Encoder.load(model_path(16))
    db = hamdb.create_for_model(str(tmp_path / "a.hamdb"), enc48)
    with pytest.raises(hamdb.EncoderMismatchError):
        db.insert_images(enc16, [f])
    with pytest.raises(hamdb.EncoderMismatchError):
        db.search_image(enc16, f)
    assert len(db) == 0
    plain = hamdb.create(str(tmp_path / "b.hamdb"), 48)
    with pytest.raises(hamdb.NoEncoderError):
        plain.insert_images(enc48, [f])
    with pytest.raises(hamdb.NoEncoderError):
        plain.search_image(enc48, f)
    with pytest.raises(TypeError):
        db.insert_images(None, [f])
    with pytest.raises(hamdb.InvalidParameterError, match="batch_size"):
        db.insert_images(enc48, [f], batch_size=0)
    with pytest.raises(TypeError, match="progress must be"):
        db.insert_images(enc48, [f], progress="yes")
    db.close()
    with pytest.raises(hamdb.ClosedError):
        db.insert_images(enc48, [f])


def test_progress_callback_and_tqdm(enc48, tmp_path, capsys):
    files = sample_files(200)
    db = hamdb.create_for_model(str(tmp_path / "p.hamdb"), enc48)
    seen = []
    r = db.insert_images(enc48, files + [b"bad"], progress=lambda *c: seen.append(c), batch_size=32)
    assert seen and seen[-1][0] == 201 and seen[-1][1] == 1 and seen[-1][2] == 200
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))
    assert r.inserted == 200
    db.insert_images(enc48, files[:50], progress=True)
    err = capsys.readouterr().err
    assert "insert_images" in err and "50/50" in err


def test_an_exception_from_the_caller_stops_the_ingestion_keeping_what_was_committed(enc48, tmp_path):
    files = sample_files(400)
    path = str(tmp_path / "e.hamdb")
    db = hamdb.create_for_model(path, enc48)

    def boom(done, failed, committed):
        if done >= 64:
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here") as e:
        db.insert_images(enc48, files, progress=boom, batch_size=16, commit_every=16)
    rep = e.value.report
    assert 0 < rep.inserted < 400
    assert len(db) == rep.inserted

    def gen():
        yield from files[:10]
        raise ValueError("the iterator failed")

    with pytest.raises(ValueError, match="the iterator failed") as e:
        db.insert_images(enc48, gen())
    assert e.value.report.inserted == 10
    with pytest.raises(TypeError, match="an image is a path") as e:
        db.insert_images(enc48, files[:3] + [42])
    assert e.value.report.inserted == 3
    total = len(db)
    db.close()
    with hamdb.open(path) as again:
        assert len(again) == total == rep.inserted + 13


def test_ctrl_c_stops_the_ingestion_and_keeps_what_was_committed(enc48, tmp_path):
    if threading.current_thread() is not threading.main_thread():
        pytest.fail("signals reach the main thread only; run this test on it")
    files = sample_files() * 8  # long enough that stopping early shows, however fast
    path = str(tmp_path / "c.hamdb")
    db = hamdb.create_for_model(path, enc48)
    sent = []

    def interrupt(done, failed, committed):
        if not sent and done >= 200:
            sent.append(done)
            os.kill(os.getpid(), signal.SIGINT)

    # Python installs its KeyboardInterrupt handler only if SIGINT was not ignored at start,
    # and a shell ignores it for commands run in the background (`make test &`): install it.
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt) as e:
            db.insert_images(enc48, files, progress=interrupt, batch_size=32, commit_every=100)
    finally:
        signal.signal(signal.SIGINT, old)
    rep = e.value.report
    assert sent and 200 <= rep.inserted < len(files), rep.inserted
    db.close()
    with hamdb.open(path) as again:
        assert len(again) == rep.inserted


def test_encoding_runs_in_parallel_threads(enc48):
    files = sample_files(256)
    want = enc48.encode(files)[0]
    out = [None] * 4

    def work(i):
        out[i] = enc48.encode(files)[0]

    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert all(np.array_equal(o, want) for o in out)
