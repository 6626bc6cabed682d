"""Accuracy & cost: the result card (MetaLoRA against LoRA), how accurate each run is, what it costs, and
how much it varies over repeats.

The page opens with the result card (its big numbers and its one sentence); the details follow, folded in
meeting mode: accuracy against a cost, accuracy per kind of input, every run shown, the spread over repeats.
Accuracies of runs trained on different data sets cannot be compared, so the page shows one data set at
a time: when the runs in view differ in data, a warning says so and a selector picks the data set.
The spread over repeats is drawn only when some setting has been trained at least twice.
"""

from __future__ import annotations

import streamlit as st

import metalora.figures as mf
from app import headline, views
from app.picker import require_runs
from app.session_runs import MEETING_ACCURACY_COLUMNS
from app.ui import (
    chart,
    choice,
    details,
    guard,
    lang,
    meeting,
    page_title,
    selectbox,
    show_caption,
    table,
    tr,
)

top = st.container()  # in meeting mode the result card is the first thing on the page
page_title("page_accuracy")
runs = require_runs()

with guard():
    groups = views.by_data(runs)
    if len(groups) > 1:
        st.warning(tr("mixed_data", n=len(groups)), icon=":material/warning:")
        keys = list(groups)
        newest = max(runs, key=lambda r: r.id).data_key  # the data set of the newest run comes first
        names = {k: views.data_description(groups[k][0], lang()) for k in keys}
        picked = selectbox(
            tr("data_set"), keys, index=keys.index(newest), format_func=names.__getitem__, key="acc_data"
        )
        runs = groups[picked]

    with st.spinner(tr("computing")):
        facts = headline.headline(runs)
    with top if meeting() else st.container():
        if facts is None:
            st.caption(headline.missing(lang()))
        headline.show(facts, lang())

    with details("acc_cost_header"):
        cost = choice("cost_axis", list(views.COSTS), "cost_", horizontal=True)
        with st.spinner(tr("computing")):
            costs = [views.cost_row(r, latency=cost == "latency_s") for r in runs]
        drawn_from = views.rows_key(costs)  # the figures below are drawn from these rows alone
        chart(
            lambda: mf.accuracy_vs_cost(costs, cost, lang=lang()),
            memo=(drawn_from, cost),
            key="acc_cost",
            title_key="acc_cost_header",
        )
        newest = max(runs, key=lambda r: r.id)
        if (how := views.contractions_text(newest, lang())) is not None:
            st.caption(f"{newest.name(lang())}: {how}" if len(runs) > 1 else how)

    with details("per_domain_header"):
        chart(
            lambda: mf.domain_accuracy(views.domain_summary(costs, lang()), lang=lang()),
            memo=drawn_from,
            key="per_domain",
            title_key="per_domain_header",
        )

    with details("runs_table_header"):
        rows = [r.row(lang()) for r in runs]
        table(rows, columns=views.ACCURACY_TABLE_COLUMNS, meeting_columns=MEETING_ACCURACY_COLUMNS)
        show_caption("caption_runs_table")

    with details("repeat_spread_header"):
        spread = views.repeat_spread(costs)
        if views.has_repeats(spread):
            chart(
                lambda: mf.accuracy_vs_cost(spread, cost, lang=lang()),
                memo=(drawn_from, cost),
                key="repeat_spread",
                title_key="repeat_spread_header",
            )
            table(views.spread_table(spread, lang()), meeting_columns=views.SPREAD_COLUMNS)
            show_caption("caption_repeat_spread")
        else:
            st.markdown(tr("no_repeats"))
