"""Accuracy & cost: how accurate each run is, what it costs, and how much it varies over repeats."""

from __future__ import annotations

import streamlit as st

import metalora.figures as mf
from app import views
from app.picker import require_runs
from app.ui import chart, choice, guard, lang, page_title, show_caption, table, tr

page_title("page_accuracy")
runs = require_runs()

with guard():
    table([r.row(lang()) for r in runs])
    show_caption("caption_runs_table")

    st.subheader(tr("acc_cost_header"))
    cost = choice("cost_axis", list(views.COSTS), "cost_", horizontal=True)
    with st.spinner(tr("computing")):
        rows = [views.cost_row(r, latency=cost == "latency_s") for r in runs]
    chart(mf.accuracy_vs_cost(rows, cost, lang=lang()), key="acc_cost", title_key="acc_cost_header")

    st.subheader(tr("per_domain_header"))
    chart(
        mf.domain_accuracy(views.domain_summary(rows), lang=lang()),
        key="per_domain",
        title_key="per_domain_header",
    )

    st.subheader(tr("repeat_spread_header"))
    spread = views.repeat_spread(rows)
    chart(
        mf.accuracy_vs_cost(spread, cost, lang=lang()), key="repeat_spread", title_key="repeat_spread_header"
    )
    table(views.spread_table(spread, lang()))
    show_caption("caption_repeat_spread")
