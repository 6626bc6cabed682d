"""The one-button demo: the sample model, the four-domain digits, LoRA against MetaLoRA-TR.

Shrink it for tests with the environment variables ``METALORA_DEMO_EPOCHS`` (epochs per run) and
``METALORA_DEMO_SAMPLES`` (images per class before splitting).
"""

from __future__ import annotations

import copy
import functools
import os

import resources
import runs
import state
from jobs import TrainingJob

from metalora.data import DEFAULT_DEMO_DOMAINS
from metalora.errors import FileFormatError
from metalora.training import TrainConfig


def demo_train_config() -> TrainConfig:
    """The library's demo settings when available, with ``METALORA_DEMO_EPOCHS`` applied."""
    try:
        from metalora.training.runner import DEMO_TRAIN_CONFIG as base  # lands with the runner
    except ImportError:
        base = TrainConfig(epochs=runs.DEMO_EPOCHS, lr=3e-3, batch_size=64)
    epochs = os.environ.get("METALORA_DEMO_EPOCHS")
    kwargs = base.as_dict()
    if epochs:
        kwargs["epochs"] = int(epochs)
    return TrainConfig(**kwargs)


def load_demo_choices() -> tuple[state.ModelChoice, state.DataChoice]:
    """Select the demo's model and data in this session and return them."""
    name = resources.demo_model_name()
    if name is None:
        raise FileFormatError(
            "No sample model is installed, so the demo cannot start.",
            "Build them with `make sample-models`, then reload this page.",
        )
    _, card = resources.sample_model(name)
    size = int(card.get("kwargs", {}).get("image_size", 32) or 32)
    splits = resources.builtin_data(
        resources.DEMO_DATASET, tuple(DEFAULT_DEMO_DOMAINS), size, resources.demo_samples_per_class()
    )
    model_choice = state.ModelChoice(label=name, sample=name, card=card)
    data_choice = state.DataChoice(
        label=f"{resources.DEMO_DATASET} × {len(DEFAULT_DEMO_DOMAINS)}", splits=splits
    )
    state.set_model(model_choice)
    state.set_data(data_choice)
    return model_choice, data_choice


def start_demo() -> bool:
    """Start the demo's training job (False if a job of this session is still running)."""
    model_choice, data_choice = load_demo_choices()
    cfg = demo_train_config()
    tasks = [runs.TrainTask(method=m, rank=runs.DEMO_RANK, train=cfg) for m in runs.DEMO_METHODS]
    job = TrainingJob(
        tasks=tasks,
        make_base=functools.partial(copy.deepcopy, model_choice.frozen()),
        splits=data_choice.splits,
        model_label=model_choice.label,
        data_label=data_choice.label,
        device=cfg.device,
    )
    return state.start_job(job)
