"""Every text the dashboard shows, in English and Japanese. Pages look strings up by key."""

from __future__ import annotations

LANGUAGES = {"en": "English", "ja": "日本語"}

STRINGS: dict[str, dict[str, str]] = {
    "app_title": {"en": "MetaLoRA Studio", "ja": "MetaLoRA Studio"},
    "language": {"en": "Language", "ja": "言語"},
    "page_home": {"en": "Home", "ja": "ホーム"},
    "home_title": {
        "en": "One adapter that adapts to each input",
        "ja": "入力ごとに変わる、ひとつのアダプター",
    },
    "home_what_1": {
        "en": "A pre-trained model is kept frozen; MetaLoRA adds a small, cheap add-on (an adapter) to its layers.",
        "ja": "学習済みモデルはそのまま固定し、MetaLoRA はその各層に小さく軽い追加部品（アダプター）を付けます。",
    },
    "home_what_2": {
        "en": "Unlike ordinary LoRA, the add-on looks at each input first and tunes itself to it.",
        "ja": "通常の LoRA と違い、この追加部品は入力をまず見て、その入力に合わせて自分を調整します。",
    },
    "home_what_3": {
        "en": "So one adapter handles different kinds of input — clean, inverted, rotated images — each in its own way.",
        "ja": "そのため、きれいな画像・反転画像・回転画像など、種類の違う入力をひとつのアダプターがそれぞれに合った形で扱えます。",
    },
    "pipeline_caption": {
        "en": "How an input flows: the frozen model reads it, a small network turns what it sees into a seed, "
        "and the seed sets the low-rank update of every adapted layer.",
        "ja": "入力の流れ：固定されたモデルが入力を読み取り、小さなネットワークがそれを「シード」に変え、"
        "シードが各層の低ランク更新を決めます。",
    },
    "node_input": {"en": "Input image", "ja": "入力画像"},
    "node_features": {"en": "Frozen feature extractor", "ja": "固定された特徴抽出器"},
    "node_mapping": {"en": "Mapping network", "ja": "写像ネットワーク"},
    "node_seed": {"en": "Seed (per input)", "ja": "シード（入力ごと）"},
    "node_update": {"en": "CP / Tensor-Ring update of each layer", "ja": "各層の CP / テンソルリング更新"},
    "node_output": {"en": "Prediction", "ja": "予測"},
}


def t(key: str, lang: str) -> str:
    """The text for ``key`` in ``lang``, falling back to English."""
    entry = STRINGS[key]
    return entry.get(lang) or entry["en"]
