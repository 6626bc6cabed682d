"""Train: a form for one run; training runs in the background with live curves and a Cancel button."""

from __future__ import annotations

import functools

import progress
import runs
import state
import streamlit as st
from jobs import TrainingJob
from ui import guard, page_title, technical, tr

from metalora.adapters import adaptable_modules
from metalora.device import DEVICE_CHOICES
from metalora.methods import method_ids, method_label
from metalora.training import TrainConfig

page_title("page_train")
model, data = state.model_choice(), state.data_choice()
if model is None or data is None:
    st.info(tr("train_need_choice"), icon=":material/arrow_back:")
    st.stop()

st.markdown(tr("train_using", model=model.label, data=data.label))
job = state.job()
busy = job is not None and job.active
layers = list(adaptable_modules(model.frozen()))

with st.form("train_form"):
    method = st.selectbox(
        tr("method"), method_ids(), index=method_ids().index("meta-tr"), format_func=method_label
    )
    rank = st.slider(tr("rank"), 1, 16, 4, help=tr("rank_help"))
    epochs = st.slider(tr("epochs"), 1, 30, 3)
    with technical():
        targets = st.multiselect(
            tr("target_layers"), layers, placeholder=tr("all_layers"), help=tr("targets_help")
        )
        lr = st.select_slider(tr("learning_rate"), [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], value=3e-3)
        seed = st.number_input(tr("seed"), 0, 10_000, 0)
        device = st.selectbox(tr("device"), DEVICE_CHOICES)
    submitted = st.form_submit_button(tr("start_training"), type="primary", disabled=busy)

if submitted:
    with guard():
        cfg = TrainConfig(epochs=int(epochs), lr=float(lr), seed=int(seed), device=device)
        task = runs.TrainTask(method=method, rank=int(rank), targets=tuple(targets) or "all", train=cfg)
        new = TrainingJob(
            tasks=[task],
            make_base=functools.partial(model.frozen),
            data=data.source,
            model_label=model.label,
            data_label=data.label,
            device=device,
        )
        if state.start_job(new):
            st.rerun()

progress.job_panel()
