"""Shared, read-only resources cached for every session: sample models and built-in data.

Only things nobody changes live here (``st.cache_resource`` hands the same object to every user).
Training never changes a cached model: :func:`metalora.training.train_run` trains a deep copy of the base
model it is given (see :func:`metalora.models.resolve_model`).
"""

from __future__ import annotations

import os

import streamlit as st
from torch import nn

from metalora.data import DataSpec, DataSplits
from metalora.models import list_sample_models, load_sample_model
from metalora.training.demo import DEMO_MODEL as DEMO_MODEL_REF

#: Preferred sample model of the demo (the library's ``DEMO_MODEL`` without its ``sample:`` prefix), then any
#: digits model, then the first one.
DEMO_MODEL = DEMO_MODEL_REF.removeprefix("sample:")


@st.cache_resource(show_spinner=False, max_entries=8)
def sample_model(name: str) -> tuple[nn.Module, dict]:
    """A shipped sample model, frozen and in eval mode, with its model card. Never modify it."""
    model, card = load_sample_model(name)
    model.requires_grad_(False).eval()
    return model, card


@st.cache_resource(show_spinner=False, max_entries=16)
def builtin_data(spec: DataSpec) -> DataSplits:
    """A built-in data set with its domain shifts, split 70/15/15. Never modify it."""
    return spec.load()


@st.cache_resource(show_spinner=False, max_entries=8)
def demo_ranks(name: str):
    """The demo's ranks for sample model ``name``, matched to one budget of trainable parameters: LoRA's
    count at :data:`~metalora.training.demo.DEMO_RANK` (:func:`metalora.training.methods.match_ranks`).

    A :class:`~metalora.training.methods.RankMatch` (``{method: rank}`` with ``.counts`` and ``.budget``),
    computed once per sample model for every session. Never modify it.
    """
    from metalora.training.demo import demo_ranks as match

    return match(sample_model(name)[0])


def sample_model_names() -> list[str]:
    """The sample models on disk (not cached: a rebuild shows up without a restart)."""
    return list_sample_models()


def demo_model_name() -> str | None:
    """The sample model the demo uses, or None when none is installed."""
    names = sample_model_names()
    if DEMO_MODEL in names:
        return DEMO_MODEL
    digits = [n for n in names if "digits" in n]
    return (digits or names or [None])[0]


def demo_samples_per_class() -> int | None:
    """``METALORA_DEMO_SAMPLES`` images per class for a shrunken demo (tests), else the full set."""
    value = os.environ.get("METALORA_DEMO_SAMPLES")
    return int(value) if value else None
