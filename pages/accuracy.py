"""Accuracy & cost: how accurate each run is, what it costs, and how much it varies over seeds."""

from __future__ import annotations

import results
import state
import streamlit as st
from ui import chart, choice, guard, lang, page_title, show_caption, table, tr

import metalora.figures as mf
from metalora.analysis.runs import aggregate_runs

page_title("page_accuracy")
runs = state.runs()
if not runs:
    st.info(tr("need_runs"), icon=":material/arrow_back:")
    st.stop()

with guard():
    table([r.row() for r in runs])
    show_caption("caption_runs_table")

    st.subheader(tr("acc_cost_header"))
    cost = choice("cost_axis", ["trainable", "flops", "latency_s", "train_time_s"], "cost_", horizontal=True)
    with st.spinner(tr("computing")):
        rows = [results.cost_row(r, latency=cost == "latency_s") for r in runs]
    chart(mf.accuracy_vs_cost(rows, cost, lang=lang()), key="acc_cost", title_key="acc_cost_header")

    st.subheader(tr("per_domain_header"))
    chart(mf.domain_accuracy(rows, lang=lang()), key="per_domain", title_key="per_domain_header")

    st.subheader(tr("seed_spread_header"))
    spread = aggregate_runs(rows, by=("method", "rank"))
    chart(mf.accuracy_vs_cost(spread, cost, lang=lang()), key="seed_spread", title_key="seed_spread_header")
    table(
        [
            {
                "method": g["method"],
                "rank": g["rank"],
                "n": g["n"],
                "mean": g.get("accuracy_mean"),
                "std": g.get("accuracy_std"),
            }
            for g in spread
        ]
    )
    show_caption("caption_seed_spread")
