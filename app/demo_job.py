"""The one-button demo: the sample model, the four-domain digits, LoRA against MetaLoRA-TR.

The settings are the library's (``metalora.training.demo``), except the ranks: each method trains at the
rank that gives it the same budget of trainable parameters (LoRA's count at ``DEMO_RANK``), so the
comparison is fair (:func:`app.resources.demo_ranks`). Shrink the demo for tests with
the environment variables ``METALORA_DEMO_EPOCHS`` (epochs per run) and ``METALORA_DEMO_SAMPLES``
(images per class before splitting).
"""

from __future__ import annotations

import os
from dataclasses import replace

import streamlit as st

from app import measured, resources, session
from app.jobs import TrainingJob
from app.session_runs import TrainTask
from metalora.errors import FileFormatError
from metalora.training import TrainConfig
from metalora.training.demo import DEMO_ADAPTER_KWARGS, DEMO_DATA, DEMO_METHODS, DEMO_TRAIN_CONFIG

#: The session key of the demo's rank match (shown on Home: both adapters train about N parameters).
DEMO_BUDGET = "demo_budget"


def demo_train_config() -> TrainConfig:
    """The library's demo settings, with ``METALORA_DEMO_EPOCHS`` applied."""
    epochs = os.environ.get("METALORA_DEMO_EPOCHS")
    return replace(DEMO_TRAIN_CONFIG, epochs=int(epochs)) if epochs else DEMO_TRAIN_CONFIG


def load_demo_choices() -> tuple[session.ModelChoice, session.DataChoice]:
    """Select the demo's model and data in this session and return them."""
    name = resources.demo_model_name()
    if name is None:
        raise FileFormatError(
            "No sample model is installed, so the demo cannot start.",
            "Build them with `make sample-models`, then reload this page.",
        )
    _, card = resources.sample_model(name)
    spec = replace(DEMO_DATA, samples_per_class=resources.demo_samples_per_class())
    model_choice = session.ModelChoice(label=name, sample=name, card=card)
    data_choice = session.DataChoice.builtin(spec, resources.builtin_data(spec))
    session.set_model(model_choice)
    session.set_data(data_choice)
    return model_choice, data_choice


def budget_text(lang: str) -> str | None:
    """ "Both adapters train about N parameters (LoRA: a, MetaLoRA: b)" once this session ran the demo; in
    Japanese with its own punctuation: "（LoRA：8,000、MetaLoRA（テンソルリング）：7,900）"."""
    from app.strings import t
    from metalora.methods import method_label

    ranks = st.session_state.get(DEMO_BUDGET)
    if ranks is None:
        return None
    items = [
        t("demo_budget_item", lang, method=method_label(m, lang), n=f"{n:,}") for m, n in ranks.counts.items()
    ]
    details = t("demo_budget_sep", lang).join(items)
    return t("demo_budget", lang, n=f"{ranks.budget:,}", details=details)


def start_demo() -> bool:
    """Start the demo's training job (False if a job of this session is still running)."""
    model_choice, data_choice = load_demo_choices()
    cfg = demo_train_config()
    ranks = resources.demo_ranks(model_choice.sample)
    st.session_state[DEMO_BUDGET] = ranks
    adapter = dict(DEMO_ADAPTER_KWARGS)
    tasks = [TrainTask(method=m, rank=int(ranks[m]), train=cfg, adapter=adapter) for m in DEMO_METHODS]
    frozen = model_choice.frozen()
    full = demo_train_config() == DEMO_TRAIN_CONFIG and resources.demo_samples_per_class() is None
    job = TrainingJob(
        tasks=tasks,
        # a shrunken demo (tests) has no measured time, and does not count as one on this computer
        expected_s=(measured.seconds_here() or measured.DEMO_SECONDS) if full else None,
        on_done=measured.record_here if full else None,
        make_base=lambda: frozen,
        data=data_choice.source,
        model_label=model_choice.label,
        data_label=data_choice.label,
        model_ref=model_choice.ref,
    )
    return session.start_job(job)
