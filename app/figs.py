"""The figures the pages draw: from ``metalora.figures`` when it has them, else simple stand-ins.

Every builder returns ``(figure, caption)`` with ``caption = {"en": ..., "ja": ...}``: one plain
sentence saying what the chart shows and what it means. The stand-ins below only *draw* results
that ``metalora.analysis`` computed; they exist until the library's Plotly builders land, and the
pages do not change when they do.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

Caption = dict[str, str]
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
METHOD_NAMES = {"cp": "CP", "tucker": "Tucker", "tr": "Tensor Ring"}


def _layout(fig: go.Figure, height: int = 420, **kwargs) -> go.Figure:
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10}, template="plotly_white", **kwargs
    )
    return fig


def _order(table) -> np.ndarray:
    """Rows sorted by domain, then class (so blocks of one kind of input sit together)."""
    return np.lexsort((table.y, table.domain))


# ----------------------------------------------------------------------------- scaling factors
def seed_heatmap(table, layer: str) -> tuple[go.Figure, Caption]:
    """Inputs (rows, grouped by domain) x seed components of one layer."""
    order = _order(table)
    s = table.check_layer(layer)[order]  # (N, R)
    labels = [table.describe(i) for i in order]
    fig = go.Figure(
        go.Heatmap(
            z=s,
            x=[f"s{r + 1}" for r in range(s.shape[1])],
            y=list(range(len(order))),
            text=[[lab] * s.shape[1] for lab in labels],
            hovertemplate="%{text}<br>%{x} = %{z:.3f}<extra></extra>",
            colorscale="Viridis",
        )
    )
    ticks = [int(np.flatnonzero(table.domain[order] == d)[0]) for d in np.unique(table.domain)]
    fig.update_yaxes(
        tickvals=ticks,
        ticktext=[table.domain_names[int(table.domain[order][t])] for t in ticks],
        autorange="reversed",
    )
    _layout(fig, 460, title=layer)
    return fig, {
        "en": "Each row is one input image and each column one seed component of this layer; "
        "bands of similar colour mean that inputs of one kind get a similar adapter.",
        "ja": "各行が 1 枚の入力画像、各列がこの層のシードの成分です。同じ色の帯は、同じ種類の入力が似たアダプターを受け取っていることを示します。",
    }


def seed_distribution(table, layer: str, by: str = "domain") -> tuple[go.Figure, Caption]:
    """Box plots of every seed component of ``layer``, one colour per domain (or class)."""
    s = table.check_layer(layer)
    labels, names = (table.domain, table.domain_names) if by == "domain" else (table.y, table.class_names)
    fig = go.Figure()
    for g, name in enumerate(names):
        mask = labels == g
        if not mask.any():
            continue
        comps = np.repeat([[f"s{r + 1}" for r in range(s.shape[1])]], mask.sum(), axis=0)
        fig.add_box(
            x=comps.ravel(), y=s[mask].ravel(), name=str(name), marker_color=PALETTE[g % len(PALETTE)]
        )
    _layout(fig, 420, boxmode="group", title=layer, xaxis_title="", yaxis_title="")
    word = {"domain": ("kind of input", "入力の種類"), "class": ("class", "クラス")}[by]
    return fig, {
        "en": f"The spread of each seed component per {word[0]}; boxes that sit apart mean the adapter "
        f"treats each {word[0]} differently.",
        "ja": f"{word[1]}ごとの各シード成分のばらつきです。箱が離れているほど、アダプターは{word[1]}ごとに異なる扱いをしています。",
    }


def input_seeds(table, rows: list[int], names: list[str]) -> tuple[go.Figure, Caption]:
    """The seeds of one or two inputs across every layer, side by side on one axis."""
    x = [
        [layer for layer in table.layers for _ in range(table.ranks[layer])],
        [f"s{r + 1}" for layer in table.layers for r in range(table.ranks[layer])],
    ]
    fig = go.Figure()
    for j, (row, name) in enumerate(zip(rows, names, strict=True)):
        y = np.concatenate([table.seeds[layer][row] for layer in table.layers])
        fig.add_bar(x=x, y=y, name=name, marker_color=PALETTE[j])
    _layout(fig, 380, barmode="group", xaxis={"tickangle": -45})
    return fig, {
        "en": "The seed each chosen input generates in every adapted layer; different bars mean the "
        "layer is adapted differently for these inputs.",
        "ja": "選んだ入力が各層で生成するシードです。棒が違うほど、その層はこれらの入力に対して異なる調整をしています。",
    }


# ----------------------------------------------------------------------------- tensor ranks
def rank_curves(sweeps: dict) -> tuple[go.Figure, Caption]:
    """Relative reconstruction error against rank, one panel per layer, one line per decomposition."""
    names = list(sweeps)
    cols = min(3, len(names))
    fig = make_subplots(rows=int(np.ceil(len(names) / cols)), cols=cols, subplot_titles=names)
    for k, name in enumerate(names):
        sw = sweeps[name]
        for j, (method, err) in enumerate(sw.errors.items()):
            fig.add_scatter(
                x=sw.ranks,
                y=np.asarray(err, dtype=float),
                mode="lines+markers",
                name=METHOD_NAMES.get(method, method),
                line={"color": PALETTE[j]},
                showlegend=k == 0,
                row=k // cols + 1,
                col=k % cols + 1,
            )
    _layout(fig, 220 + 220 * int(np.ceil(len(names) / cols)))
    fig.update_yaxes(rangemode="tozero")
    return fig, {
        "en": "How well each layer's update is rebuilt with a given rank; where a curve reaches zero, "
        "that many components are all the layer really needs.",
        "ja": "各層の更新を、あるランクでどれだけ正確に再現できるかを示します。曲線がゼロに届くところが、その層が本当に必要とする成分の数です。",
    }


def core_spectra(sweeps: dict) -> tuple[go.Figure, Caption]:
    """Singular values of each mode unfolding of each layer's update (log scale)."""
    fig = go.Figure()
    for k, (name, sw) in enumerate(sweeps.items()):
        for m, spec in enumerate(sw.mode_spectra):
            spec = np.asarray(spec, dtype=float)
            if spec.size == 0 or spec[0] <= 0:
                continue
            label = sw.mode_labels[m] if m < len(sw.mode_labels) else f"mode {m + 1}"
            fig.add_scatter(
                x=np.arange(1, spec.size + 1),
                y=spec / spec[0],
                mode="lines+markers",
                name=f"{name} · {label}",
                line={"color": PALETTE[k % len(PALETTE)]},
            )
    _layout(fig, 420, yaxis_type="log", xaxis_title="k", yaxis_title="σ_k / σ_1")
    return fig, {
        "en": "The strength of each direction in the updates, strongest first; a steep drop means the "
        "adapter uses only a few directions.",
        "ja": "更新に含まれる各方向の強さを、強い順に示します。急に下がるほど、アダプターが少数の方向しか使っていないことを意味します。",
    }


def effective_rank_rows(sweeps: dict) -> list[dict]:
    """One row per layer: its adapter rank and the effective rank per decomposition."""
    return [
        {
            "layer": name,
            "rank": max(sw.ranks),
            **{METHOD_NAMES.get(m, m): r for m, r in sw.effective_rank.items()},
        }
        for name, sw in sweeps.items()
    ]


# ----------------------------------------------------------------------------- clusters
def cluster_map(view, color_by: str = "cluster") -> tuple[go.Figure, Caption]:
    """The inputs on a 2-D map of their seeds, coloured by cluster, domain or class."""
    table = view.table
    if color_by == "cluster":
        labels, names = view.clusters, [f"{k + 1}" for k in range(int(view.clusters.max()) + 1)]
    elif color_by == "domain":
        labels, names = table.domain, table.domain_names
    else:
        labels, names = table.y, table.class_names
    fig = go.Figure()
    for g, name in enumerate(names):
        rows = np.flatnonzero(labels == g)
        if rows.size == 0:
            continue
        fig.add_scatter(
            x=view.xy[rows, 0],
            y=view.xy[rows, 1],
            mode="markers",
            name=str(name),
            customdata=rows,
            text=[table.describe(i) for i in rows],
            hovertemplate="%{text}<extra></extra>",
            marker={"color": PALETTE[g % len(PALETTE)], "size": 8, "opacity": 0.8},
        )
    _layout(fig, 520, dragmode="lasso", xaxis={"showticklabels": False}, yaxis={"showticklabels": False})
    return fig, {
        "en": "Each dot is one input, placed by its seeds: inputs the adapter treats alike sit close together.",
        "ja": "各点が 1 つの入力で、シードに基づいて配置されています。アダプターが似た扱いをする入力ほど近くに並びます。",
    }


# ----------------------------------------------------------------------------- accuracy and cost
def pareto_mask(cost: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """True for runs no other run beats on both lower cost and higher accuracy."""
    keep = np.ones(len(cost), bool)
    for i in range(len(cost)):
        others = (cost <= cost[i]) & (acc >= acc[i]) & ((cost < cost[i]) | (acc > acc[i]))
        keep[i] = not others.any()
    return keep


def accuracy_vs_cost(rows: list[dict], cost: str, cost_label: str) -> tuple[go.Figure, Caption]:
    """Test accuracy against one cost per run, with the Pareto front."""
    xs = np.array([float(r[cost]) for r in rows])
    ys = np.array([float(r["test_acc"] or 0.0) for r in rows])
    methods = [r["method"] for r in rows]
    fig = go.Figure()
    for j, m in enumerate(dict.fromkeys(methods)):
        idx = [i for i, mm in enumerate(methods) if mm == m]
        fig.add_scatter(
            x=xs[idx],
            y=ys[idx],
            mode="markers",
            name=m,
            marker={"size": 14, "color": PALETTE[j % len(PALETTE)]},
            text=[f"run #{rows[i]['run']}" for i in idx],
        )
    front = np.flatnonzero(pareto_mask(xs, ys))
    front = front[np.argsort(xs[front])]
    fig.add_scatter(
        x=xs[front], y=ys[front], mode="lines", name="Pareto", line={"dash": "dash", "color": "#888"}
    )
    _layout(fig, 380, xaxis_title=cost_label, yaxis_title="test accuracy", yaxis_range=[0, 1.02])
    return fig, {
        "en": "Higher is more accurate and further left is cheaper; the dashed line joins the runs "
        "that nothing beats on both at once.",
        "ja": "上ほど正確で、左ほど低コストです。破線は、両方で同時に上回るものがない実行を結んでいます。",
    }


def per_domain_accuracy(runs: list) -> tuple[go.Figure, Caption]:
    """Test accuracy per kind of input, one bar group per run."""
    fig = go.Figure()
    for j, run in enumerate(runs):
        per = run.per_domain
        fig.add_bar(x=list(per), y=list(per.values()), name=run.name, marker_color=PALETTE[j % len(PALETTE)])
    _layout(fig, 380, barmode="group", yaxis_range=[0, 1.02], yaxis_title="test accuracy")
    return fig, {
        "en": "Accuracy on each kind of input; MetaLoRA should stay high on all of them, not only on clean images.",
        "ja": "入力の種類ごとの正解率です。MetaLoRA はきれいな画像だけでなく、すべての種類で高いままであるはずです。",
    }


def seed_spread(rows: list[dict]) -> tuple[go.Figure, Caption]:
    """Mean test accuracy per method over random seeds, with the spread (standard deviation)."""
    groups: dict[str, list[float]] = {}
    for r in rows:
        groups.setdefault(f"{r['method']} · r={r['rank']}", []).append(float(r["test_acc"] or 0.0))
    names = list(groups)
    means = [float(np.mean(v)) for v in groups.values()]
    stds = [float(np.std(v)) for v in groups.values()]
    counts = [len(v) for v in groups.values()]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=means,
            error_y={"type": "data", "array": stds},
            text=[f"n={c}" for c in counts],
            marker_color=PALETTE[0],
        )
    )
    _layout(fig, 360, yaxis_range=[0, 1.02], yaxis_title="test accuracy")
    return fig, {
        "en": "The average accuracy of each setting over its runs with different random seeds; "
        "the whisker shows how much it varies from run to run.",
        "ja": "乱数シードを変えた実行での、設定ごとの平均正解率です。ひげは実行ごとのばらつきを示します。",
    }
