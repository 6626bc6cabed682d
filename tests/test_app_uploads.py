"""The dashboard's upload handling, report and error display (AppTest cannot upload files).

Real uploads through the browser are covered by ``tests/browser``.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from safetensors.torch import save as st_save
from streamlit.testing.v1 import AppTest

from app import downloads, uploads
from app.strings import STRINGS
from metalora import MetaLoRAConfig, get_model
from metalora.errors import DataError, FileFormatError, MetaLoRAError
from metalora.models import build_model
from tests.data_files import PicklePayload


@dataclass
class FakeUpload:
    """What ``st.file_uploader`` hands a page: a name and the bytes."""

    name: str
    data: bytes

    def getvalue(self) -> bytes:
        return self.data


def npz_bytes(n_per_class: int = 10) -> bytes:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(3 * n_per_class, 12, 12), dtype=np.uint8)
    y = np.repeat(np.arange(3), n_per_class)
    buf = io.BytesIO()
    np.savez(buf, x=x, y=y)
    return buf.getvalue()


def test_good_npz_becomes_split_data():
    choice = uploads.data_from_upload(FakeUpload("mine.npz", npz_bytes()))
    assert choice.label == "mine.npz"
    total = sum(len(d) for d in choice.splits.as_dict().values())
    assert total == 30 and choice.splits.train.num_classes == 3


def test_good_csv_becomes_split_data():
    rows = ["label," + ",".join(f"p{i}" for i in range(16))]
    rows += [f"{k % 2}," + ",".join(str((k * 7 + i) % 256) for i in range(16)) for k in range(20)]
    choice = uploads.data_from_upload(FakeUpload("pixels.csv", "\n".join(rows).encode()))
    assert choice.splits.train.image_size == (4, 4)


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("evil.npz", pickle.dumps({"x": 1}), FileFormatError),
        ("broken.zip", b"PK\x03\x04 not really a zip", FileFormatError),
        ("notes.txt", b"hello", FileFormatError),
        ("one_class.csv", b"label,a,b,c,d\n0,1,2,3,4\n0,4,3,2,1\n", DataError),
    ],
)
def test_bad_data_files_are_refused_with_a_message(name, data, error):
    with pytest.raises(error) as info:
        uploads.data_from_upload(FakeUpload(name, data))
    assert len(str(info.value)) > 20


def test_good_weights_load_into_the_architecture():
    model = build_model("resnet-mini", in_channels=1, num_classes=10)
    data = st_save({k: v.contiguous() for k, v in model.state_dict().items()})
    choice = uploads.model_from_upload(FakeUpload("w.safetensors", data), "resnet-mini", in_channels=1)
    assert choice.frozen() is choice.uploaded
    assert not any(p.requires_grad for p in choice.uploaded.parameters())


def test_weights_of_another_shape_or_a_pickle_are_refused():
    model = build_model("resnet-mini", in_channels=3, num_classes=10)
    data = st_save({k: v.contiguous() for k, v in model.state_dict().items()})
    with pytest.raises(MetaLoRAError, match="do not match"):
        uploads.model_from_upload(FakeUpload("w.safetensors", data), "resnet-mini", in_channels=1)
    buf = io.BytesIO()
    torch.save({"model": torch.nn.Linear(2, 2)}, buf)  # a pickled module, not a state dict
    with pytest.raises(FileFormatError):
        uploads.model_from_upload(FakeUpload("w.pt", buf.getvalue()), "resnet-mini", in_channels=3)
    with pytest.raises(FileFormatError):
        uploads.model_from_upload(FakeUpload("w.exe", b"MZ"), "resnet-mini")


def test_adapter_zip_holds_weights_config_and_card():
    model = get_model(build_model("resnet-mini", in_channels=1), MetaLoRAConfig(method="meta-tr", rank=2))
    data = downloads.adapter_zip(model, {"run": 1})
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert {"adapter_model.safetensors", "adapter_config.json", "run.json"} <= names


def test_html_report_embeds_plotly_once_and_escapes_text():
    figs = [("A <b>", go.Figure(go.Bar(y=[1, 2])), "first & only"), ("B", go.Figure(), "second")]
    html = downloads.html_report("Title", figs, [{"run": 1, "method": "LoRA"}], lang="ja")
    assert html.count("plotly.js v") <= 2 and html.count("<figure>") == 2  # the bundle names itself once
    assert "A &lt;b&gt;" in html and "first &amp; only" in html and 'lang="ja"' in html
    assert len(html) > 1_000_000  # self-contained: the library is inside
    assert "<th>実行</th><th>手法</th>" in html and "<td>LoRA</td>" in html  # the table's headers in Japanese
    assert "<h2>用語集</h2>" in html and "<dt>スケーリング係数</dt>" in html and "Glossary" not in html
    assert downloads.table_csv([{"a": 1, "b": 2}]).splitlines() == ["a,b", "1,2"]


def _error_page(kind: str, meeting: bool) -> None:
    import streamlit as st

    from app.ui import guard
    from metalora.errors import DataError

    st.session_state.meeting = meeting
    with guard():
        if kind == "library":
            raise DataError("The data is bad.", "Fix it.")
        raise RuntimeError("boom")


@pytest.mark.parametrize("meeting", [True, False])
def test_errors_are_messages_and_never_tracebacks_in_meeting_mode(meeting):
    at = AppTest.from_function(_error_page, args=("library", meeting)).run()
    assert at.error[0].value == "The data is bad. Fix it." and not at.exception
    at = AppTest.from_function(_error_page, args=("bug", meeting)).run()
    if meeting:
        assert at.error[0].value == STRINGS["error_generic"]["en"] and not at.exception
    else:
        assert "boom" in at.error[0].value and at.exception


def test_a_zoo_backbone_is_chosen_random_or_with_uploaded_weights_and_a_pickle_is_refused(tmp_path):
    from metalora.models.zoo import build_zoo_model, zoo_available

    if not zoo_available("torchvision"):
        pytest.skip("torchvision is not installed: `make app` installs it (pip install -e .[zoo]).")
    random_choice = uploads.zoo_model("torchvision:resnet18", None, image_size=32)
    assert random_choice.label == "torchvision:resnet18" and random_choice.frozen().new_head == "net.fc"
    torch.manual_seed(5)
    own = build_zoo_model("torchvision:resnet18", num_classes=1000, image_size=32).net  # its original head
    blob = st_save({k: v.contiguous() for k, v in own.state_dict().items()})
    chosen = uploads.zoo_model("torchvision:resnet18", FakeUpload("r18.safetensors", blob), image_size=32)
    assert chosen.label == "torchvision:resnet18 · r18.safetensors"
    assert torch.equal(chosen.frozen().net.conv1.weight, own.conv1.weight)
    marker = tmp_path / "pwned"
    hostile = FakeUpload("r18.pt", pickle.dumps({"conv1.weight": PicklePayload(marker)}))
    with pytest.raises(MetaLoRAError):
        uploads.zoo_model("torchvision:resnet18", hostile, image_size=32)
    assert not marker.exists()
    with pytest.raises(FileFormatError, match="not a weights file"):
        uploads.zoo_model("torchvision:resnet18", FakeUpload("notes.txt", b"hello"))
