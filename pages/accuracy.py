"""Accuracy & cost: how accurate each run is, what it costs, and how much it varies over seeds."""

from __future__ import annotations

import figs
import state
import streamlit as st
from ui import chart, choice, guard, page_title, show_caption, table, tr

page_title("page_accuracy")
runs = state.runs()
if not runs:
    st.info(tr("need_runs"), icon="👈")
    st.stop()

rows = [r.row() for r in runs]
with guard():
    table(rows)
    show_caption("caption_runs_table")

    st.subheader(tr("acc_cost_header"))
    cost = choice("cost_axis", ["trainable_params", "train_time_s"], "cost_", horizontal=True)
    chart(*figs.accuracy_vs_cost(rows, cost, tr(f"cost_{cost}")), key="acc_cost", title_key="acc_cost_header")

    st.subheader(tr("per_domain_header"))
    chart(*figs.per_domain_accuracy(runs), key="per_domain", title_key="per_domain_header")

    st.subheader(tr("seed_spread_header"))
    chart(*figs.seed_spread(rows), key="seed_spread", title_key="seed_spread_header")
