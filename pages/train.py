"""Train: a form for one run; training runs in the background with live curves and a Cancel button."""

from __future__ import annotations

import functools

import streamlit as st

from app import progress, session, views
from app.devices import available_devices
from app.jobs import TrainingJob
from app.session_runs import TrainTask
from app.ui import choice, guard, lang, multiselect, page_title, selectbox, technical, tr
from metalora.adapters import adaptable_modules
from metalora.config import FEATURE_SOURCES
from metalora.methods import get_method, method_ids
from metalora.training import TrainConfig
from metalora.training.demo import DEMO_ADAPTER_KWARGS, DEMO_METHOD, DEMO_RANK, DEMO_TRAIN_CONFIG

LEARNING_RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]  # around the library's default, TrainConfig.lr

page_title("page_train")
model, data = session.model_choice(), session.data_choice()
if model is None or data is None:
    st.info(tr("train_need_choice"), icon=":material/arrow_back:")
    st.stop()

st.markdown(tr("train_using", model=model.label, data=data.display(lang())))
job = session.job()
busy = job is not None and job.active
layers = list(adaptable_modules(model.frozen()))
layer_names = views.layer_names(layers, lang())  # shown by their names for people; the values stay code names
methods = {m: get_method(m).label(lang()) for m in method_ids()}
devices = available_devices(lang())

with st.form("train_form"):
    method = selectbox(
        tr("method"),
        list(methods),
        index=list(methods).index(DEMO_METHOD),
        format_func=methods.__getitem__,
    )
    rank = st.slider(tr("rank"), 1, 16, DEMO_RANK, help=tr("rank_help"))
    epochs = st.slider(tr("epochs"), 1, 30, DEMO_TRAIN_CONFIG.epochs)
    with technical():
        targets = multiselect(
            tr("target_layers"),
            layers,
            format_func=lambda n: layer_names.get(n, n),
            placeholder=tr("all_layers"),
            help=tr("targets_help"),
        )
        source = choice(
            "feature_source",
            list(FEATURE_SOURCES),
            "source_",
            widget=selectbox,
            index=FEATURE_SOURCES.index(DEMO_ADAPTER_KWARGS["feature_source"]),  # as the demo trains
            help=tr("feature_source_help"),
        )
        lr = st.select_slider(tr("learning_rate"), LEARNING_RATES, value=TrainConfig.lr)
        seed = st.number_input(tr("repeat"), 0, 10_000, TrainConfig.seed, help=tr("repeat_help"))
        device = selectbox(tr("device"), list(devices), format_func=devices.get, key="device")
    submitted = st.form_submit_button(tr("start_training"), type="primary", disabled=busy)

if submitted:
    with guard():
        cfg = TrainConfig(epochs=int(epochs), lr=float(lr), seed=int(seed), device=device)
        task = TrainTask(
            method=method,
            rank=int(rank),
            targets=tuple(targets) or "all",
            train=cfg,
            adapter={"feature_source": source},
        )
        new = TrainingJob(
            tasks=[task],
            make_base=functools.partial(model.frozen),
            data=data.source,
            model_label=model.label,
            data_label=data.label,
            model_ref=model.ref,
        )
        if session.start_job(new):
            st.rerun()

progress.job_panel()
