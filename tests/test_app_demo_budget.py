"""The demo's budget sentence on Home ("Both adapters train about N parameters (LoRA: a, …)"): each
language's own punctuation between the methods and their counts."""

from __future__ import annotations

import pytest

from app import demo_job
from app.strings import t
from metalora.training.methods import RankMatch


@pytest.fixture
def ran_the_demo(monkeypatch):
    """A session state that holds the demo's rank match, as ``start_demo`` leaves it."""
    ranks = RankMatch({"lora": 4, "meta-tr": 3}, {"lora": 8000, "meta-tr": 7900}, 8000)
    monkeypatch.setattr(demo_job.st, "session_state", {demo_job.DEMO_BUDGET: ranks})


def test_no_sentence_before_the_demo_ran(monkeypatch):
    monkeypatch.setattr(demo_job.st, "session_state", {})
    assert demo_job.budget_text("en") is None and demo_job.budget_text("ja") is None


def test_the_budget_sentence_uses_japanese_punctuation_in_japanese(ran_the_demo):
    ja = demo_job.budget_text("ja")
    details = "LoRA：8,000、MetaLoRA（テンソルリング）：7,900"
    assert ja == t("demo_budget", "ja", n="8,000", details=details)
    assert f"（{details}）" in ja and ", " not in ja and ": " not in ja


def test_the_budget_sentence_in_english(ran_the_demo):
    en = demo_job.budget_text("en")
    assert "(LoRA: 8,000, MetaLoRA (Tensor Ring): 7,900)" in en
    assert en == t("demo_budget", "en", n="8,000", details="LoRA: 8,000, MetaLoRA (Tensor Ring): 7,900")
    assert "、" not in en and "：" not in en
