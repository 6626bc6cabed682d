"""Domain display names live in the library (metalora.i18n): its HTML report and its figures name the
domains in the page's language, the dashboard re-uses the same table, and a domain of the user's own
keeps its id."""

from __future__ import annotations

import json
import re

import pytest
import torch

from metalora import MetaLoRAConfig, get_model
from metalora import figures as F
from metalora.analysis import analyse_model
from metalora.analysis.scaling import InputFacts
from metalora.data import DEFAULT_DEMO_DOMAINS, DOMAINS, load_builtin
from metalora.figures.captions import domain_names
from metalora.i18n import DOMAIN_NAMES, LANGUAGES, domain_name
from metalora.models import build_model
from tests.helpers import randomise_adapters, torch_threads


@pytest.fixture(scope="module")
def report():
    """The library's report of a tiny MetaLoRA-TR model (random adapters) on the four default digit domains."""
    with torch_threads(1):
        torch.manual_seed(0)
        data = load_builtin("digits", image_size=16, domains=DEFAULT_DEMO_DOMAINS, samples_per_class=3).train
        base = build_model("resnet-mini", in_channels=1, num_classes=10, widths=(8, 16))
        model = get_model(base, MetaLoRAConfig(method="meta-tr", rank=3)).eval()
        randomise_adapters(model, 0.3)
        return analyse_model(model, data, layers=["fc"], include=("scaling", "clusters"))


def figure_json(page_or_fig) -> str:
    """Text of a figure as JSON with its non-ASCII characters as they are (Plotly escapes them)."""
    return json.dumps(json.loads(page_or_fig.to_json()), ensure_ascii=False)


def test_every_library_domain_has_a_display_name_in_both_languages():
    assert set(DOMAINS) <= set(DOMAIN_NAMES), sorted(set(DOMAINS) - set(DOMAIN_NAMES))
    for key, entry in DOMAIN_NAMES.items():
        assert set(entry) == set(LANGUAGES) and all(v.strip() for v in entry.values()), key
    assert domain_name("rotate90", "ja") == "90° 回転" and domain_name("rotate90", "en") == "rotated 90°"
    assert domain_name("rotate90+noise", "ja") == "90° 回転 + ノイズ"  # a composed domain, part by part
    assert domain_name("my-scanner", "ja") == "my-scanner"  # registered outside the library: its id
    assert domain_name("my-scanner+noise", "en") == "my-scanner+noise"
    for lang in LANGUAGES:  # a name translated once (by the dashboard) passes a figure unchanged
        for d in [*DOMAIN_NAMES, "rotate90+mirror"]:
            assert domain_name(domain_name(d, lang), lang) == domain_name(d, lang), (d, lang)


def test_the_dashboard_uses_the_librarys_one_table():
    from app import strings

    assert strings.DOMAIN_NAMES is DOMAIN_NAMES and strings.domain_name is domain_name
    assert strings.domain_name("inverted", "ja") == "反転"


def test_the_library_report_names_the_domains_in_its_language(report):
    ja = report.to_html("ja")
    assert "反転" in ja and "90° 回転" in ja and "鏡像" in ja and "そのまま" in ja
    assert "rotate90" not in ja  # not in its words nor in its figures (plotly.js has "inverted", "mirror")
    words = re.sub(r"<script.*?</script>", "", ja, flags=re.S)
    assert "inverted" not in words and "mirror" not in words and "clean" not in words
    assert '<html lang="ja">' in ja and ja == report.to_html("ja"), "undated: the same bytes"
    en = report.to_html("en")
    assert "rotated 90°" in en and "mirrored" in en and "rotate90" not in en
    figs = F.report_figures(report, lang="ja")
    drawn = {f.key: figure_json(f.fig) for f in figs}
    for key in ("scaling_heatmap", "scaling_distributions", "cluster_map"):
        assert "90° 回転" in drawn[key] and "鏡像" in drawn[key], key
        assert not re.search(r"rotate90|inverted|mirror|clean", drawn[key]), key
    assert report.to_dict()["table"]["domain_names"] == list(DEFAULT_DEMO_DOMAINS), "the data keep their ids"


def test_library_figures_name_the_domains_and_keep_a_users_own(report):
    table = report.table
    f = F.scaling_distributions(table, "fc", by="domain", lang="ja")
    assert f.trace_names() == ["そのまま", "反転", "90° 回転", "鏡像"]
    assert F.describe_input(InputFacts(3, "7", "rotate90"), "en") == "input #3 · class 7 · rotated 90°"
    assert F.describe_input(InputFacts(3, "7", "scanner-b"), "ja") == "入力 #3・クラス 7・scanner-b"
    rows = [{"method": "lora", "n": 1, "per_domain.rotate90_mean": 0.5, "per_domain.scanner-b_mean": 0.4}]
    bars = F.domain_accuracy(rows, lang="ja")
    assert list(bars.fig.data[0].x) == ["90° 回転", "scanner-b"]
    # two names that would read alike are both kept as they are (their bars never merge)
    assert domain_names(["rotate90", "rotated 90°"], "en") == ["rotate90", "rotated 90°"]


def test_the_reports_own_words_have_both_languages_with_the_same_fields():
    from metalora.analysis.report import REPORT_TEXT
    from metalora.i18n import placeholders

    for key, entry in REPORT_TEXT.items():
        assert set(entry) == set(LANGUAGES), key
        assert placeholders(entry["en"]) == placeholders(entry["ja"]), key
