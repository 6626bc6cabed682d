"""Layer names for people (metalora.i18n.layer_name / layer_names / layer_label), in English and Japanese.

The rules are generic over PyTorch module paths: every layer of the sample models, and paths as torchvision
and timm write them, gets a name a manager can read, numbered from 1, distinct within its model.
"""

from __future__ import annotations

import re

import pytest

from metalora.adapters import adaptable_modules
from metalora.errors import ConfigError
from metalora.i18n import LANGUAGES, LAYER_WORDS, layer_label, layer_name, layer_names
from metalora.models import build_model, list_architectures

#: Module paths as other libraries write them (torchvision, timm, Hugging Face).
OTHER_PATHS = {
    "layer3.1.downsample.0": ("Layer 3 · block 2 · shortcut", "層 3・ブロック 2・ショートカット"),
    "layer2.0.conv1": ("Layer 2 · block 1 · conv 1", "層 2・ブロック 1・畳み込み 1"),
    "conv1": ("Conv 1", "畳み込み 1"),
    "blocks.5.attn.qkv": ("Block 6 · attention · QKV", "ブロック 6・注意機構・QKV"),
    "blocks.5.attn.proj": ("Block 6 · attention · projection", "ブロック 6・注意機構・射影"),
    "blocks.5.mlp.fc2": ("Block 6 · MLP · dense 2", "ブロック 6・MLP・全結合 2"),
    "features.3.0.block.1.0": ("Part 4 · block 1 · layer 2", "部分 4・ブロック 1・層 2"),
    "head": ("Output layer", "出力層"),
    "classifier": ("Output layer", "出力層"),
    "fc": ("Output layer", "出力層"),
    "stages.1.downsample.1": ("Stage 2 · downsampling 2", "ステージ 2・ダウンサンプリング 2"),
}

#: The examples of the product requirement, exactly.
EXAMPLES = {
    "stages.1": ("Stage 2", "ステージ 2"),
    "blocks.3": ("Block 4", "ブロック 4"),
    "layers.0": ("Layer 1", "層 1"),
    "features.5": ("Part 6", "部分 6"),
    "stages.1.0.conv2": ("Stage 2 · block 1 · conv 2", "ステージ 2・ブロック 1・畳み込み 2"),
    "stages.1.0.shortcut.0": ("Stage 2 · block 1 · shortcut", "ステージ 2・ブロック 1・ショートカット"),
    "stem.0": ("Stem", "ステム"),
    "patch_embed": ("Patch embedding", "パッチ埋め込み"),
    "blocks.2.channel_mlp.fc1": ("Block 3 · channel MLP · dense 1", "ブロック 3・チャンネル MLP・全結合 1"),
    "blocks.0.token_mlp.fc2": ("Block 1 · token MLP · dense 2", "ブロック 1・トークン MLP・全結合 2"),
    "foo_bar.3": ("foo_bar 4", "foo_bar 4"),  # a word the table does not know stays as the code writes it
    "foo_bar": ("foo_bar", "foo_bar"),
    "0": ("Layer 1", "層 1"),  # a plain nn.Sequential
}

#: Words that stay as they are in a Japanese name: abbreviations managers read as such.
ALLOWED_IN_JA = {"MLP", "QKV"}


def _model_layers(arch: str) -> list[str]:
    return list(adaptable_modules(build_model(arch, in_channels=1, num_classes=10)))


def _english_words(name: str, code: str) -> list[str]:
    """The Latin-letter words of a Japanese name that are neither allowed nor the code's own identifiers."""
    identifiers = set(re.split(r"[.]", code))
    return [
        w
        for w in re.findall(r"[A-Za-z][A-Za-z0-9_]*", name)
        if w not in ALLOWED_IN_JA and w not in identifiers and not re.search(r"[0-9_]", w)
    ]


@pytest.mark.parametrize("path", sorted({**EXAMPLES, **OTHER_PATHS}))
def test_examples_in_both_languages(path):
    en, ja = {**EXAMPLES, **OTHER_PATHS}[path]
    assert layer_name(path) == en and layer_name(path, "en") == en
    assert layer_name(path, "ja") == ja


def test_the_sample_models_layers():
    resnet = layer_names(_model_layers("resnet-mini"))
    assert resnet == {
        "stem.0": "Stem",
        "stages.0.0.conv1": "Stage 1 · block 1 · conv 1",
        "stages.0.0.conv2": "Stage 1 · block 1 · conv 2",
        "stages.1.0.conv1": "Stage 2 · block 1 · conv 1",
        "stages.1.0.conv2": "Stage 2 · block 1 · conv 2",
        "stages.1.0.shortcut.0": "Stage 2 · block 1 · shortcut",
        "stages.2.0.conv1": "Stage 3 · block 1 · conv 1",
        "stages.2.0.conv2": "Stage 3 · block 1 · conv 2",
        "stages.2.0.shortcut.0": "Stage 3 · block 1 · shortcut",
        "fc": "Output layer",
    }
    mixer = layer_names(_model_layers("mixer-mini"), "ja")
    assert mixer["patch_embed"] == "パッチ埋め込み" and mixer["head"] == "出力層"
    assert mixer["blocks.3.token_mlp.fc1"] == "ブロック 4・トークン MLP・全結合 1"
    assert mixer["blocks.0.channel_mlp.fc2"] == "ブロック 1・チャンネル MLP・全結合 2"


@pytest.mark.parametrize("arch", list_architectures())
@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_names_are_distinct_within_a_model_and_read_as_words(arch, lang):
    layers = _model_layers(arch)
    names = layer_names(layers, lang)
    assert list(names) == layers
    assert len(set(names.values())) == len(layers), names
    for code, name in names.items():
        assert name != code, f"{code!r} is not named for people"  # every sample layer has a plain name
        assert name == layer_name(code, lang, layers)
        assert not re.search(r"\d+\.\d|\.\w", name), name  # no module path left in the name
        if lang == "ja":
            assert not _english_words(name, code), (code, name)


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_other_libraries_paths_are_distinct(lang):
    names = layer_names(OTHER_PATHS, lang)
    assert len(set(names.values())) == len(names)


def test_japanese_names_hold_no_english_word():
    """Every known word is translated: a Japanese name keeps only MLP, QKV and the code's own identifiers."""
    for code in [*EXAMPLES, *OTHER_PATHS, *(p for a in list_architectures() for p in _model_layers(a))]:
        assert not _english_words(layer_name(code, "ja"), code), (code, layer_name(code, "ja"))
    for key, entry in LAYER_WORDS.items():
        assert set(entry) == set(LANGUAGES), key
        assert not _english_words(entry["ja"], ""), (key, entry["ja"])


def test_a_lone_index_is_dropped_only_when_it_is_safe():
    # without the other layers: index 0 is dropped, any other kept, so stem.0 and stem.1 still differ
    assert layer_name("stem.0") == "Stem" and layer_name("stem.1") == "Stem 2"
    # with them: dropped only when it is the only index there
    assert layer_names(["stem.0", "stem.1"]) == {"stem.0": "Stem 1", "stem.1": "Stem 2"}
    assert layer_names(["stem.1", "fc"])["stem.1"] == "Stem"
    assert layer_name("stem.0", names=["stem.0", "stem.3"]) == "Stem 1"
    assert layer_name("shortcut.0", "ja", names=["shortcut.0"]) == "ショートカット"
    # an index after a numbered part is a block inside it, never dropped
    assert layer_names(["stages.1.0", "stages.1.1"]) == {
        "stages.1.0": "Stage 2 · block 1",
        "stages.1.1": "Stage 2 · block 2",
    }
    assert layer_name("stages.1.0") == "Stage 2 · block 1"


def test_a_clash_falls_back_to_the_code_names():
    # shortcut and downsample both read "Shortcut" inside a block: each keeps its code name
    names = layer_names(["layer1.0.shortcut", "layer1.0.downsample", "layer1.0.conv1"])
    assert names == {
        "layer1.0.shortcut": "layer1.0.shortcut",
        "layer1.0.downsample": "layer1.0.downsample",
        "layer1.0.conv1": "Layer 1 · block 1 · conv 1",
    }
    assert len(layer_names(["a.0", "a", "a.1"])) == 3  # repeated or odd names: still one name each


@pytest.mark.parametrize("odd", ["", ".", "a..b", "9", "x.y.z.0.0.0", "_", "conv_1", "Stages.1", "é.1"])
def test_odd_names_never_raise(odd):
    for lang in LANGUAGES:
        name = layer_name(odd, lang)
        assert isinstance(name, str) and (name or not odd)
        assert layer_names([odd], lang)[odd] == layer_name(odd, lang, [odd])


def test_an_unsupported_language_is_a_config_error():
    with pytest.raises(ConfigError):
        layer_name("fc", "fr")
    with pytest.raises(ConfigError):
        layer_names(["fc"], "fr")


def test_label_adds_the_code_name():
    assert layer_label("stages.1.0.conv2") == "Stage 2 · block 1 · conv 2 (stages.1.0.conv2)"
    assert layer_label("stages.1.0.conv2", "ja") == "ステージ 2・ブロック 1・畳み込み 2（stages.1.0.conv2）"
    assert layer_label("stem.0", names=["stem.0", "stem.1"]) == "Stem 1 (stem.0)"
    assert layer_label("foo_bar") == "foo_bar"  # the same name twice says nothing more
    assert layer_label("fc", shown="the head") == "the head (fc)"
