"""Images streamed from the server's disk on the Model & data page: the same sources as the command line
(folder:PATH, cifar:PATH, npz:PATH), previewed and trained without loading them into memory."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app import uploads
from app.strings import STRINGS
from metalora.data import is_streaming
from metalora.errors import MetaLoRAError
from tests.app_support import environment, new_app, tiny_env


def _folder(root, classes=("cat", "dog", "owl"), per_class=8, mode="RGB"):
    rng = np.random.default_rng(0)
    for k, cls in enumerate(classes):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            pixels = (rng.integers(0, 256, (12, 12, 3)) // (k + 1)).astype(np.uint8)
            Image.fromarray(pixels).convert(mode).save(root / cls / f"{i}.png")
    return root


def test_a_folder_source_streams_and_a_bad_one_is_explained(tmp_path):
    choice = uploads.data_from_source(f"folder:{_folder(tmp_path / 'pics')}", image_size=16)
    assert choice.label.startswith("folder:") and is_streaming(choice.splits.train)
    assert choice.source is choice.spec and choice.splits.train.class_names == ["cat", "dog", "owl"]
    with pytest.raises(MetaLoRAError, match="tarball"):
        uploads.data_from_source("tarball:/nowhere")
    with pytest.raises(MetaLoRAError):
        uploads.data_from_source(f"folder:{tmp_path / 'missing'}")


def test_the_page_takes_a_folder_previews_it_and_trains_on_it(tmp_path):
    pics = _folder(tmp_path / "pics", classes=[f"digit{k}" for k in range(10)], per_class=7, mode="L")
    with environment(tiny_env(tmp_path / "app")):
        at = new_app()
        at.switch_page("../pages/model_data.py").run()
        source = next(r for r in at.radio if r.label == STRINGS["data_source"]["en"])
        source.set_value(STRINGS["source_disk"]["en"]).run()
        at.text_input(key="disk_source").input(f"folder:{pics}").run()
        at.button(key="use_disk").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        assert any(m.value.startswith("folder:") for m in at.metric)  # the data in use
        assert STRINGS["preview_header"]["en"] in [h.value for h in at.subheader]  # previewed, image by image
        at.button(key="use_sample").click().run()
        at.switch_page("../pages/train.py").run()
        at.button(key="FormSubmitter:train_form-" + STRINGS["start_training"]["en"]).click().run()
        job = at.session_state["job"]
        assert job.join(120), "training did not finish in time"
        assert job.status == "done", job.error
        assert job.records[0].result.config["data"]["source"] == f"folder:{pics}"
