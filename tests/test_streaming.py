"""Streaming data: each source reads the pixels and labels the in-memory loaders give, splits alike, trains
repeatably through a DataLoader, augments the training split only, and refuses bad input clearly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from metalora.data import (
    Augment,
    DataSpec,
    StreamingDataset,
    StreamSpec,
    is_stream_source,
    load_cifar_binary,
    load_imagefolder,
    load_npz,
    open_cifar,
    open_folder,
    open_npz,
    parse_data_source,
    split_dataset,
    split_streaming,
)
from metalora.errors import ConfigError, DataError, FileFormatError, TrainingError
from metalora.models import build_model
from metalora.training import TrainConfig, evaluate, fit


def _folder(root, per_class=6, size=(10, 8), domains=None, gray=False, seed=0):
    """An ImageFolder tree of random PNGs (three classes), optionally under domain folders."""
    rng = np.random.default_rng(seed)
    for d in domains or [None]:
        for c in ("ant", "bee", "cat"):
            folder = root / c if d is None else root / d / c
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                shape = (size[1], size[0]) if gray else (size[1], size[0], 3)
                Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(folder / f"{i}.png")
    return root


def _cifar(folder, n_train=(25, 15), n_test=10, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for k, n in enumerate(n_train, start=1):
        rec = np.concatenate([(np.arange(n) % 10)[:, None], rng.integers(0, 256, (n, 3072))], axis=1)
        (folder / f"data_batch_{k}.bin").write_bytes(rec.astype(np.uint8).tobytes())
    rec = np.concatenate([(np.arange(n_test) % 10)[:, None], rng.integers(0, 256, (n_test, 3072))], axis=1)
    (folder / "test_batch.bin").write_bytes(rec.astype(np.uint8).tobytes())
    return folder


def _same(stream: StreamingDataset, mem) -> None:
    assert len(stream) == len(mem) and stream.x.shape == mem.x.shape
    assert np.array_equal(stream.x[:], mem.x)  # every pixel, bit for bit
    assert np.array_equal(stream.y, mem.y) and np.array_equal(stream.domain, mem.domain)
    assert stream.class_names == mem.class_names and stream.domain_names == mem.domain_names
    x, y, d = stream[len(stream) - 1]
    assert x.dtype == torch.float32 and y.dtype == torch.int64 and d.dtype == torch.int64
    assert torch.equal(x, torch.from_numpy(mem.x[-1])) and int(y) == mem.y[-1]


@pytest.mark.parametrize("gray", [False, True])
def test_folder_streams_what_load_imagefolder_reads(tmp_path, gray):
    root = _folder(tmp_path / "pets", gray=gray)
    _same(open_folder(root, image_size=12), load_imagefolder(root, image_size=12))
    assert open_folder(root, image_size=12).channels == (1 if gray else 3)


def test_folder_with_domains_and_splits_match_the_in_memory_split(tmp_path):
    root = _folder(tmp_path / "mixed", per_class=5, domains=["day", "night"])
    stream, mem = open_folder(root, image_size=8), load_imagefolder(root, image_size=8)
    _same(stream, mem)
    assert stream.domain_names == ["day", "night"]
    s_parts, m_parts = split_streaming(stream, 0.2, 0.2, seed=3), split_dataset(mem, 0.2, 0.2, seed=3)
    for s, m in zip(s_parts.as_dict().values(), m_parts.as_dict().values(), strict=True):
        _same(s, m)
        assert s.name == m.name
    other = split_streaming(stream, 0.2, 0.2, seed=4)
    assert not np.array_equal(other.train.indices, s_parts.train.indices)  # the seed matters


def test_folder_refuses_links_out_of_it_and_unreadable_images(tmp_path):
    root = _folder(tmp_path / "d", per_class=2)
    (tmp_path / "outside.png").write_bytes((root / "ant" / "0.png").read_bytes())
    (root / "ant" / "link.png").symlink_to(tmp_path / "outside.png")
    with pytest.raises(FileFormatError, match="outside the data folder"):
        open_folder(root)
    (root / "ant" / "link.png").unlink()
    (root / "bee" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(FileFormatError, match=r"broken\.png.*not a readable image"):
        open_folder(root)  # refused when opened, not in the middle of an epoch


def test_cifar_streams_what_load_cifar_binary_reads(tmp_path):
    folder = _cifar(tmp_path / "cifar-10-batches-bin")
    for split in ("train", "test"):
        _same(open_cifar(tmp_path, split=split), load_cifar_binary(tmp_path, split=split))
    resized = open_cifar(tmp_path, image_size=16)
    assert resized.x[:2].shape == (2, 3, 16, 16) and resized.image_size == (16, 16)
    (folder / "data_batch_2.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(FileFormatError, match="whole number"):
        open_cifar(tmp_path)


@pytest.mark.parametrize("layout", ["nhw", "nchw", "nhwc", "float"])
def test_npz_streams_what_load_npz_reads(tmp_path, layout):
    rng = np.random.default_rng(1)
    shapes = {"nhw": (12, 6, 5), "nchw": (12, 3, 6, 5), "nhwc": (12, 6, 5, 3), "float": (12, 1, 6, 5)}
    x = rng.integers(0, 256, shapes[layout], dtype=np.uint8)
    x = x / 255.0 if layout == "float" else x
    y = np.array(["a", "b", "c"])[np.arange(12) % 3]
    path = tmp_path / "d.npz"
    np.savez(path, x=x, y=y, domain=np.arange(12) % 2, domain_names=np.array(["p", "q"]))
    _same(open_npz(path), load_npz(path))
    assert open_npz(path, image_size=4).x[0].shape[1:] == (4, 4)


def test_compressed_npz_is_refused_for_streaming_with_the_way_out(tmp_path):
    path = tmp_path / "c.npz"
    np.savez_compressed(path, x=np.zeros((4, 4, 4), np.uint8), y=np.arange(4) % 2)
    with pytest.raises(FileFormatError, match=r"savez_compressed.*np\.savez \(not np\.savez_compressed\)"):
        open_npz(path)
    assert len(load_npz(path)) == 4  # still loads in memory, as before


def test_npz_object_arrays_are_refused(tmp_path):
    path = tmp_path / "o.npz"
    np.savez(path, x=np.array([object()] * 4, dtype=object), y=np.arange(4) % 2)
    with pytest.raises(FileFormatError, match="numbers"):
        open_npz(path)


def test_lazy_view_reads_only_what_is_indexed_and_refuses_to_load_everything(tmp_path):
    ds = open_folder(_folder(tmp_path / "p"), image_size=8)
    assert (
        ds.x[3].shape == (3, 8, 8) and ds.x[[0, 5]].shape == (2, 3, 8, 8) and ds.x[:4, 0].shape == (4, 8, 8)
    )
    with pytest.raises(DataError, match="streaming data set"):
        np.asarray(ds.x)
    small = ds.to_memory([1, 2])
    assert np.array_equal(small.x, ds.x[[1, 2]]) and small.class_names == ds.class_names


def test_augmentation_changes_training_images_only_and_is_seeded(tmp_path):
    ds = open_folder(_folder(tmp_path / "a", per_class=8), image_size=16)
    splits = split_streaming(ds, 0.25, 0.25, seed=0, augment=Augment(padding=4))
    assert splits.train.augment is not None and splits.val.augment is None and splits.test.augment is None
    plain = splits.train.with_augment(None)
    seen = [splits.train.image(i, epoch=0, seed=0) for i in range(len(plain))]
    assert any(not np.array_equal(a, plain.x[i]) for i, a in enumerate(seen))
    assert all(a.shape == plain.x[i].shape for i, a in enumerate(seen))
    assert np.array_equal(splits.train.image(0, epoch=2, seed=5), splits.train.image(0, epoch=2, seed=5))
    draws = {splits.train.image(0, epoch=e, seed=0).tobytes() for e in range(6)}
    assert len(draws) > 1  # new draws every epoch
    assert np.array_equal(splits.val.image(0, epoch=3), splits.val.x[0])  # validation untouched
    flipped = Augment(padding=0)(np.arange(6, dtype=np.float32).reshape(1, 2, 3), np.random.default_rng(1))
    assert flipped.tolist() in ([[[0, 1, 2], [3, 4, 5]]], [[[2, 1, 0], [5, 4, 3]]])


def _tiny(channels=3, classes=3):
    torch.manual_seed(0)
    return build_model("resnet-mini", in_channels=channels, num_classes=classes, widths=(4, 8))


FAST = dict(epochs=2, batch_size=8, lr=1e-2, device="cpu", num_workers=0)


def _strip(history):
    return [{k: v for k, v in h.items() if k not in ("time_s", "samples_per_s")} for h in history]


def test_fit_on_a_streaming_folder_is_repeatable_and_matches_the_in_memory_run(tmp_path):
    root = _folder(tmp_path / "f", per_class=12)
    stream = split_streaming(open_folder(root, image_size=12), seed=0)
    mem = split_dataset(load_imagefolder(root, image_size=12), seed=0)
    runs = []
    for splits in (stream, stream, mem):
        model = _tiny()
        res = fit(model, splits, TrainConfig(**FAST, seed=2))
        runs.append((_strip(res.history), res.test.accuracy, res.test.per_domain, model.state_dict()))
    assert runs[0][:3] == runs[1][:3] == runs[2][:3]  # same batches, same pixels: the same run
    assert all(torch.equal(v, runs[2][3][k]) for k, v in runs[0][3].items())
    assert len(runs[0][0]) == 2 and runs[0][1] >= 0.0 and runs[0][2].keys() == {"original"}
    again = evaluate(_tiny(), stream.test, batch_size=4, device="cpu", num_workers=0)
    assert again.n == len(stream.test) and set(again.per_class) <= {"ant", "bee", "cat"}


def test_fit_streams_through_worker_processes_with_augmentation(tmp_path):
    root = _folder(tmp_path / "w", per_class=8)
    splits = split_streaming(open_folder(root, image_size=8), seed=0, augment=Augment(padding=2))
    a = fit(_tiny(), splits, TrainConfig(**{**FAST, "num_workers": 2}, seed=1))
    b = fit(_tiny(), splits, TrainConfig(**FAST, seed=1))  # workers do not change the run
    assert _strip(a.history) == _strip(b.history)
    plain = fit(
        _tiny(), split_streaming(open_folder(root, image_size=8), seed=0), TrainConfig(**FAST, seed=1)
    )
    assert _strip(plain.history)[0]["train_loss"] != _strip(a.history)[0]["train_loss"]  # augmentation acts


def test_streamed_nan_pixels_stop_training_with_a_clear_error(tmp_path):
    x = np.random.default_rng(0).uniform(0, 1, (20, 1, 6, 6))
    x[::4, 0, 2, 2] = np.nan  # in every split
    np.savez(tmp_path / "n.npz", x=x, y=np.arange(20) % 2)
    splits = split_streaming(open_npz(tmp_path / "n.npz"), 0.2, 0.0, seed=0)
    model = _tiny(1, 2)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(TrainingError, match=r"NaN or infinite pixels .*first at index \d+"):
        fit(model, splits, TrainConfig(**FAST))
    assert all(torch.equal(v, start[k]) for k, v in model.state_dict().items())  # starting weights kept
    with pytest.raises(TrainingError, match="NaN"):
        evaluate(model, splits.val, device="cpu", num_workers=0)


def test_parse_data_source_gives_builtin_specs_and_stream_specs(tmp_path):
    root = _folder(tmp_path / "imgs", per_class=4)
    np.savez(tmp_path / "d.npz", x=np.zeros((6, 4, 4), np.uint8), y=np.arange(6) % 2)
    assert parse_data_source("digits", image_size=16, seed=2) == DataSpec(
        name="digits", image_size=16, seed=2
    )
    spec = parse_data_source(f"folder:{root}", image_size=12, seed=1, augment=True)
    assert isinstance(spec, StreamSpec) and spec.kind == "folder" and spec.source == f"folder:{root}"
    assert StreamSpec.from_dict(spec.to_dict()) == spec
    splits = spec.load()
    assert splits.train.augment is not None and splits.train.image_size == (12, 12)
    assert sum(len(s) for s in splits.as_dict().values()) == 12
    assert parse_data_source(f"npz:{tmp_path / 'd.npz'}").load().train.channels == 1
    _cifar(tmp_path / "cif")
    cif = parse_data_source(f"cifar:{tmp_path / 'cif'}").load()
    assert len(cif.test) == 10 and len(cif.train) + len(cif.val) == 40  # the test batch is the test split
    assert is_stream_source("folder:x") and not is_stream_source("digits")


@pytest.mark.parametrize(
    "text, error, phrase",
    [
        ("zip:/tmp/x", ConfigError, "Unknown data source kind 'zip'"),
        ("mnist", ConfigError, "Unknown data source 'mnist'.*folder:PATH"),
        ("", ConfigError, "empty"),
        ("folder:/no/such/place", FileFormatError, "does not exist"),
        ("folder:", FileFormatError, "does not exist"),
    ],
)
def test_bad_data_sources_get_clear_errors(text, error, phrase):
    with pytest.raises(error, match=phrase):
        parse_data_source(text)


def test_wrong_kind_of_path_and_builtin_options_are_refused(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 4, 4), np.uint8), y=np.arange(4) % 2)
    with pytest.raises(FileFormatError, match="is a file, not a folder"):
        parse_data_source(f"folder:{tmp_path / 'd.npz'}")
    with pytest.raises(FileFormatError, match=r"is a folder, not an \.npz"):
        parse_data_source(f"npz:{tmp_path}")
    with pytest.raises(ConfigError, match="domains only apply to the built-in"):
        parse_data_source(f"folder:{tmp_path}", domains=("clean",))
    with pytest.raises(ConfigError, match="It looks like a path"):
        parse_data_source(str(tmp_path))


# ----------------------------------------------------------------------------- benchmarks/bench_data.py
def _bench():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_data.py"
    spec = importlib.util.spec_from_file_location("bench_data", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_data_report_states_the_ratio_on_its_last_line():
    bench = _bench()
    run = dict(fit_s=1.0, loader_images_per_s=900.0, step_images_per_s=300.0, workers=0, train=1)
    small, large = dict(run, n=500, peak_rss_bytes=400 * 2**20), dict(run, n=5000, peak_rss_bytes=600 * 2**20)
    assert bench.rss_ratio(small, large) == pytest.approx(1.5)
    lines = bench.report(small, large)
    assert len(lines) == 4 and lines[0].lstrip().startswith("500 images: peak RSS")
    assert "the model step bounds" in lines[2]
    assert lines[-1] == "peak RSS ratio 5000 / 500 images: 1.500 (target < 1.3: NOT met)"
    assert bench.report(small, dict(large, peak_rss_bytes=420 * 2**20))[-1].endswith(
        "1.050 (target < 1.3: met)"
    )


def test_bench_data_runs_end_to_end_in_tiny_mode(tmp_path):
    import re
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_data.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--tiny", "--keep", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert re.match(r"\s*30 images: peak RSS +\d+\.\d MiB", lines[-4])
    assert re.match(r"\s*300 images: peak RSS +\d+\.\d MiB", lines[-3])
    assert re.search(r"loader vs model step at 300 images: \d+ vs \d+ images/s", lines[-2])
    m = re.fullmatch(r"peak RSS ratio 300 / 30 images: (\d+\.\d+) \(target < 1\.3: (NOT )?met\)", lines[-1])
    assert m and 0.5 < float(m.group(1)) < 3.0
    assert len(list((tmp_path / "n300").rglob("*.png"))) == 300


_DDP_SCRIPT = """
import json, sys, torch
from metalora.data import load_imagefolder, open_folder, split_dataset, split_streaming
from metalora.models import build_model
from metalora.training import TrainConfig, distributed, fit

info = distributed.from_env()
device = distributed.setup(info, "cpu")
root, out = sys.argv[1], sys.argv[2]
results = {}
for kind, splits in (
    ("stream", split_streaming(open_folder(root, image_size=8), seed=0)),
    ("memory", split_dataset(load_imagefolder(root, image_size=8), seed=0)),
):
    torch.manual_seed(0)
    model = build_model("resnet-mini", in_channels=3, num_classes=3, widths=(4, 8))
    res = fit(model, splits, TrainConfig(epochs=2, batch_size=8, lr=1e-2, device="cpu", num_workers=0), device=device)
    hist = [{k: v for k, v in h.items() if k not in ("time_s", "samples_per_s")} for h in res.history]
    results[kind] = [hist, res.test.accuracy, res.test.n, res.device]
if info.is_main:
    json.dump(results, open(out, "w"))
distributed.shutdown()
"""


def test_streaming_fit_under_torchrun_shards_like_the_in_memory_path(tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = _folder(tmp_path / "ddp", per_class=8)
    script = tmp_path / "job.py"
    script.write_text(_DDP_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    proc = subprocess.run(
        [*cmd, str(script), str(root), str(tmp_path / "out.json")],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads((tmp_path / "out.json").read_text())
    assert got["stream"] == got["memory"]  # the same shares of the same batches, whether streamed or not
    assert got["stream"][3] == "cpu x2 (gloo)" and got["stream"][2] > 0


def test_a_preview_of_a_streamed_folder_reads_only_the_images_it_shows(tmp_path):
    from metalora.data import load_imagefolder, preview_grid

    _folder(tmp_path / "pics", per_class=6)
    streamed = open_folder(tmp_path / "pics", image_size=8)
    sheet, rows, cols = preview_grid(streamed, per_cell=2)
    expected, rows_mem, cols_mem = preview_grid(load_imagefolder(tmp_path / "pics", image_size=8), per_cell=2)
    assert np.array_equal(sheet, expected) and (rows, cols) == (rows_mem, cols_mem)
