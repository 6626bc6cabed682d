"""Every word a figure shows, in English and Japanese: captions, titles, axis labels, legend and trace names,
hover texts, terms.

A caption is one plain sentence for a non-engineer: what the figure shows and what it means. The per-input
vector of a MetaLoRA layer is always called its *scaling factors* (ja: スケーリング係数); "seed" only ever
means a random seed. Placeholders (``{layer}``, ``{by}``, ...) are filled by :func:`caption` / :func:`label`
/ :func:`term`; a field may be a plain value (the same in both languages) or a ``{"en": ..., "ja": ...}``
dict. A layer is shown by its name for people (:func:`metalora.i18n.layer_name`: ``stages.1.0.conv2`` ->
"Stage 2 · block 1 · conv 2", :func:`layer_both`), its hover texts add the code name (:func:`layer_hover`).

Every lookup goes through :func:`metalora.i18n.text`, the one rule of the project: a missing key or
language raises :class:`KeyError` (so does :func:`term`; no caller needs an unknown key back, and a typo
should fail a test rather than show a raw key), an unsupported ``lang`` a
:class:`~metalora.errors.ConfigError`. The tests check that both languages are complete and use the same
placeholders.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ..i18n import LANGUAGES as _LANGUAGE_NAMES
from ..i18n import domain_name, layer_label, layer_name, layer_names, text

__all__ = [
    "CAPTIONS",
    "LABELS",
    "LANGUAGES",
    "TERMS",
    "caption",
    "describe_input",
    "domain_names",
    "label",
    "layer_both",
    "layer_hover",
    "mode_name",
    "term",
    "term_both",
]

LANGUAGES: tuple[str, ...] = tuple(_LANGUAGE_NAMES)
"""The language codes of every caption and label (those of :data:`metalora.i18n.LANGUAGES`)."""

CAPTIONS: dict[str, dict[str, str]] = {
    "scaling_heatmap": {
        "en": "Each row is one image and each column one of the {rank} scaling factors of layer {layer}; the colour shows how far the adapter turns that factor up (red) or down (blue) for that image, so colour bands that change where one kind of input gives way to the next mean the model adapts differently to each kind of input.",
        "ja": "各行が1枚の画像、各列が層 {layer} の {rank} 個のスケーリング係数を表し、色はその画像に対してアダプターが係数をどれだけ上げたか（赤）下げたか（青）を示しており、入力の種類の境目で色の帯が変わるなら、モデルは入力の種類ごとに異なる調整をしていることを意味します。",
    },
    "scaling_distributions": {
        "en": "For each scaling factor of layer {layer}, the boxes show the range of values the adapter chose for the images of each {by}; boxes that sit apart mean that factor reacts to the {by}.",
        "ja": "層 {layer} の各スケーリング係数について、箱は{by}ごとの画像に対してアダプターが選んだ値の範囲を示し、箱の位置が離れていればその係数が{by}に反応していることを意味します。",
    },
    "input_scaling": {
        "en": "The bars show how the adapter set every scaling factor, layer by layer, for {input}, next to the average image (dots); bars far from the dots show what the model does differently for this image.",
        "ja": "棒は {input} に対してアダプターが各層のスケーリング係数をどう設定したかを平均的な画像（点）と並べて示し、点から離れた棒はこの画像に対してモデルが特別に変えている部分を表します。",
    },
    "input_scaling_compare": {
        "en": "The two bar colours compare how the adapter set every scaling factor for {input} and for {other}; the more the bars differ, the more differently the model treats the two images (overall distance {distance}).",
        "ja": "2色の棒は {input} と {other} に対するアダプターのスケーリング係数の設定を比べたもので、棒の差が大きいほどモデルが2枚の画像を異なる扱いをしていることを意味します（全体の距離 {distance}）。",
    },
    "scaling_specificity": {
        "en": "Each bar shows how much of the variation in a layer's scaling factors is explained by the {by} (0 % = not at all, 100 % = entirely); tall bars mark the layers where the adapter tailors itself to the {by}.",
        "ja": "各棒は、層のスケーリング係数のばらつきのうち{by}で説明できる割合（0%＝まったくない、100%＝すべて）を示し、高い棒はアダプターが{by}に合わせて調整している層を表します。",
    },
    "error_vs_rank": {
        "en": "Each line shows how much of the adapter's weight change in layer {layer} is lost when it is squeezed into fewer components (lower is better); the star marks the smallest size whose loss stays under the dashed {tol} line, which is how much capacity the layer really uses.",
        "ja": "各線は、層 {layer} のアダプターによる重みの変化を少ない成分に圧縮したときに失われる割合（低いほど良い）を示し、星印は失われる割合が破線の {tol} を下回る最小のサイズ、つまりその層が実際に使っている容量を表します。",
    },
    "error_vs_rank_knee": {
        "en": "Each line shows how much of the adapter's weight change in layer {layer} is lost when it is squeezed into fewer components (lower is better); here no size tried gets under the dashed {tol} line, so an open star marks only where its curve bends (or the largest size tried) and still loses up to {error} of the change, which means the layer cannot be made that small without a visible loss.",
        "ja": "各線は、層 {layer} のアダプターによる重みの変化を少ない成分に圧縮したときに失われる割合（低いほど良い）を示し、ここでは試したどのサイズも破線の {tol} を下回らないため、白抜きの星印は曲線が曲がる点（または試した最大のサイズ）を示すだけで、そこでも変化の最大 {error} が失われており、この層は目に見える損失なしにはそこまで小さくできないことを意味します。",
    },
    "spectra": {
        "en": "Each line lists the strengths of the independent directions inside one learned building block of layer {layer}, strongest first; a line that drops to near zero early means that block uses only a few of its directions.",
        "ja": "各線は層 {layer} の学習済みの構成要素1つに含まれる独立な方向の強さを強い順に並べたもので、早い段階でほぼゼロに落ちる線は、その要素が少数の方向しか使っていないことを意味します。",
    },
    "component_energy": {
        "en": "Each dark bar shows the share of layer {layer}'s weight change carried by one scaling factor, and the light bar its share of the part that differs between images; factors with almost no share are unused and could be removed.",
        "ja": "濃い棒は層 {layer} の重みの変化のうち1つのスケーリング係数が担う割合を、薄い棒は画像ごとに異なる部分のうちの割合を示し、ほとんど割合のない係数は使われておらず削除できる可能性があります。",
    },
    "effective_ranks": {
        "en": "For every layer, the bars show how many components its weight change really needs out of the rank it was given (dashed line), so bars well below the line mark layers with spare capacity; a hatched bar means no size tried was close enough, so it only marks where the error curve bends.",
        "ja": "各層について、重みの変化が与えられたランク（破線）のうち実際に必要とする成分の数を棒で示し、破線より大きく下回る棒は容量に余裕がある層を表しますが、斜線の棒は試したどのサイズでも十分に近づかず、誤差の曲線が曲がる点を示すだけであることを意味します。",
    },
    "cluster_map": {
        "en": "Each dot is one image, placed so that images the adapter treats alike sit close together and coloured by {colour_by}; if the colours form separate islands, the model has learned on its own to handle those groups differently (agreement with the kinds of input: ARI {ari_domain}).",
        "ja": "各点は1枚の画像で、アダプターが似た扱いをする画像ほど近くに配置されて{colour_by}で色分けされており、色が別々の島を作っていれば、モデルがそれらのグループを自ら区別して扱うよう学習したことを意味します（入力の種類との一致度 ARI {ari_domain}）。",
    },
    "silhouette_vs_k": {
        "en": "The line shows how cleanly the images split into groups for each number of groups tried (higher is cleaner); the highlighted point is the number of groups used in the map.",
        "ja": "線は試したグループ数ごとに画像がどれだけきれいにグループに分かれるか（高いほどきれい）を示し、強調された点が地図で使われたグループ数です。",
    },
    "accuracy_vs_cost": {
        "en": "Each dot is one method, placed by its accuracy and its {cost}; the line (the Pareto front) joins the methods that no other method beats on both at once, so the best choices lie on it.",
        "ja": "各点は1つの手法で、正解率と{cost}によって配置されており、線（パレートフロント）は両方を同時に上回る手法が他にない手法を結んだもので、最良の選択肢はこの線上にあります。",
    },
    "accuracy_by_epochs": {
        "en": "The bars compare each method's accuracy after a short and a longer training run, with whiskers showing the spread over repeated runs; a method that gains a lot from the longer run was still learning, so a short run understates it.",
        "ja": "棒は各手法の短い学習と長い学習の後の正解率を比べ、ひげは繰り返し実行でのばらつきを示しており、長い学習で大きく伸びる手法はまだ学習途中だったため、短い学習ではその実力が低く見えることを意味します。",
    },
    "domain_accuracy": {
        "en": "The bars compare the accuracy of each method on each kind of input, with whiskers showing the spread over repeated runs; a method with even bars copes well with every kind of input.",
        "ja": "棒は各手法の入力の種類ごとの正解率を比べ、ひげは繰り返し実行でのばらつきを示しており、棒の高さがそろっている手法はどの種類の入力にもうまく対応できています。",
    },
}

LABELS: dict[str, dict[str, str]] = {
    # titles
    "title.scaling_heatmap": {
        "en": "Scaling factors of {layer}, per input",
        "ja": "{layer} のスケーリング係数（入力ごと）",
    },
    "title.scaling_distributions": {
        "en": "Scaling factors of {layer} by {by}",
        "ja": "{layer} のスケーリング係数（{by}別）",
    },
    "title.input_scaling": {"en": "Scaling factors of {input}", "ja": "{input} のスケーリング係数"},
    "title.input_scaling_compare": {
        "en": "Scaling factors: {input} vs {other}",
        "ja": "スケーリング係数：{input} と {other}",
    },
    "title.scaling_specificity": {
        "en": "How much each layer adapts to the {by}",
        "ja": "各層が{by}に合わせて調整する度合い",
    },
    "title.error_vs_rank": {
        "en": "Reconstruction error vs rank: {layer}",
        "ja": "再構成誤差とランク：{layer}",
    },
    "title.spectra": {
        "en": "Singular values of the learned factors: {layer}",
        "ja": "学習済み因子の特異値：{layer}",
    },
    "title.component_energy": {
        "en": "Energy share of each scaling factor: {layer}",
        "ja": "スケーリング係数ごとのエネルギーの割合：{layer}",
    },
    "title.effective_ranks": {
        "en": "Effective rank of every layer's update",
        "ja": "各層の更新の実効ランク",
    },
    "title.cluster_map": {
        "en": "Inputs by their adaptation ({embedding}), coloured by {colour_by}",
        "ja": "適応の仕方による入力の配置（{embedding}、{colour_by}で色分け）",
    },
    "title.silhouette_vs_k": {"en": "Choosing the number of clusters", "ja": "クラスター数の選択"},
    "title.accuracy_vs_cost": {"en": "Accuracy vs {cost}", "ja": "正解率と{cost}"},
    "title.domain_accuracy": {"en": "Accuracy per kind of input", "ja": "入力の種類ごとの正解率"},
    "title.accuracy_by_epochs": {"en": "Accuracy by training length", "ja": "学習の長さ別の正解率"},
    # axes
    "axis.component": {"en": "Scaling factor (position)", "ja": "スケーリング係数（番号）"},
    "axis.inputs_by_domain": {
        "en": "Inputs, grouped by kind of input (one row each)",
        "ja": "入力（種類順、1 行ずつ）",
    },
    "axis.scaling_value": {
        "en": "Scaling factor value (unitless multiplier)",
        "ja": "スケーリング係数の値（単位なしの倍率）",
    },
    "axis.layer_component": {"en": "Layer [scaling factor]", "ja": "層［スケーリング係数］"},
    "axis.layer": {"en": "Adapted layer", "ja": "適応させた層"},
    "axis.explained": {"en": "Variation explained by the {by} (%)", "ja": "{by}で説明されるばらつき（%）"},
    "axis.rank": {"en": "Rank (number of components)", "ja": "ランク（成分数）"},
    "axis.rel_error": {"en": "Relative reconstruction error (%)", "ja": "相対再構成誤差（%）"},
    "axis.sv_index": {"en": "Singular value index (1 = strongest)", "ja": "特異値の番号（1＝最大）"},
    "axis.sv_value": {
        "en": "Singular value relative to the largest (log scale, unitless)",
        "ja": "最大値に対する特異値（対数目盛、単位なし）",
    },
    "axis.share": {"en": "Share of the update's energy (%)", "ja": "更新のエネルギーに占める割合（%）"},
    "axis.effective_rank": {"en": "Effective rank (components)", "ja": "実効ランク（成分数）"},
    "axis.pc": {"en": "Principal component {n} ({var}% of variance)", "ja": "主成分 {n}（分散の {var}%）"},
    "axis.tsne": {"en": "t-SNE dimension {n} (no unit)", "ja": "t-SNE 次元 {n}（単位なし）"},
    "axis.k": {"en": "Number of clusters (k)", "ja": "クラスター数（k）"},
    "axis.silhouette": {
        "en": "Silhouette score (−1 to 1, higher is cleaner)",
        "ja": "シルエット係数（−1〜1、高いほど明確）",
    },
    "axis.accuracy": {"en": "Accuracy (%)", "ja": "正解率（%）"},
    "axis.domain": {"en": "Kind of input", "ja": "入力の種類"},
    "axis.method": {"en": "Method", "ja": "手法"},
    # cost axes (one per cost of metalora.figures.cost.COST_SCALE)
    "axis.flops": {"en": "Compute per input (GFLOPs)", "ja": "入力あたりの計算量（GFLOPs）"},
    "axis.flops_extra": {"en": "Extra compute per input (GFLOPs)", "ja": "入力あたりの追加計算量（GFLOPs）"},
    "axis.trainable": {"en": "Trainable parameters (count)", "ja": "学習するパラメーター数（個）"},
    "axis.latency_s": {"en": "Latency per batch (ms)", "ja": "バッチあたりの遅延（ms）"},
    "axis.peak_memory_bytes": {"en": "Peak memory (MiB)", "ja": "ピークメモリ（MiB）"},
    "axis.train_time_s": {"en": "Training time (s)", "ja": "学習時間（秒）"},
    "axis.adapter_bytes": {"en": "Storage per task (KiB)", "ja": "タスクごとの保存容量（KiB）"},
    # legends
    "legend.average": {"en": "Average input", "ja": "平均的な入力"},
    "legend.tolerance": {"en": "Tolerance ({tol}%)", "ja": "許容誤差（{tol}%）"},
    "legend.effective": {"en": "Effective rank", "ja": "実効ランク"},
    "legend.effective_knee": {
        "en": "Bend of the curve (not within tolerance)",
        "ja": "曲線の曲がり点（許容誤差外）",
    },
    "legend.star": {"en": "{name} ({method})", "ja": "{name}（{method}）"},
    "legend.given_rank": {"en": "Rank given", "ja": "与えられたランク"},
    "legend.energy": {"en": "Energy share", "ja": "エネルギーの割合"},
    "legend.variation": {"en": "Share of the input-dependent part", "ja": "入力に依存する部分の割合"},
    "legend.typical": {"en": "Most typical inputs", "ja": "最も典型的な入力"},
    "legend.pareto": {"en": "Pareto front", "ja": "パレートフロント"},
    "legend.chosen": {"en": "Chosen k", "ja": "選ばれた k"},
    "legend.epochs": {"en": "{epochs} epochs", "ja": "{epochs} エポック"},
    "colorbar.scaling": {"en": "Scaling factor (centre = median)", "ja": "スケーリング係数（中央＝中央値）"},
    # hover texts and trace names (the separator between the parts of a name, then one entry per text)
    "sep": {"en": " · ", "ja": "・"},
    "hover.input": {
        "en": "input #{index} · class {label} · {domain}",
        "ja": "入力 #{index}・クラス {label}・{domain}",
    },
    "hover.predicted": {"en": "predicted {label}", "ja": "予測 {label}"},
    "hover.scaling_factor": {"en": "scaling factor {n}: {value}", "ja": "スケーリング係数 {n}：{value}"},
    "hover.layer_factor": {
        "en": "{layer} · scaling factor {n}: {value}",
        "ja": "{layer}・スケーリング係数 {n}：{value}",
    },
    "hover.specificity": {"en": "{layer}: {value}% ({by})", "ja": "{layer}：{value}%（{by}）"},
    "hover.cluster": {"en": "cluster {n}", "ja": "クラスター {n}"},
    "hover.typical": {"en": "typical of cluster {n}: {input}", "ja": "クラスター {n} の典型例：{input}"},
    "hover.silhouette": {"en": "k = {k}: silhouette {score}", "ja": "k = {k}：シルエット係数 {score}"},
    "hover.chosen_k": {
        "en": "chosen k = {k}: silhouette {score}",
        "ja": "選ばれた k = {k}：シルエット係数 {score}",
    },
    "hover.rank_error": {
        "en": "{layer} · {method} · rank {rank}: {error}% (used {used})",
        "ja": "{layer}・{method}・ランク {rank}：{error}%（実際に使われたランク {used}）",
    },
    "hover.effective": {
        "en": "{layer} · {method}: effective rank {rank}, error {error} ({rule})",
        "ja": "{layer}・{method}：実効ランク {rank}、誤差 {error}（{rule}）",
    },
    "hover.outside": {"en": "{rule}, not within tolerance", "ja": "{rule}、許容誤差外"},
    "hover.given_rank": {"en": "{layer}: rank given {rank}", "ja": "{layer}：与えられたランク {rank}"},
    "hover.energy": {
        "en": "{layer} · scaling factor {n}: {value}%",
        "ja": "{layer}・スケーリング係数 {n}：{value}%",
    },
    "hover.energy_unused": {
        "en": "{layer} · scaling factor {n}: {value}% (unused)",
        "ja": "{layer}・スケーリング係数 {n}：{value}%（未使用）",
    },
    "hover.variation": {
        "en": "{layer} · scaling factor {n}: {value}% of the input-dependent part",
        "ja": "{layer}・スケーリング係数 {n}：入力に依存する部分の {value}%",
    },
    "hover.spectrum": {
        "en": "{layer} · {factor} · {mode} · #{k}: {value}",
        "ja": "{layer}・{factor}・{mode}・#{k}：{value}",
    },
    "hover.rank": {"en": "rank {rank}", "ja": "ランク {rank}"},
    "hover.runs": {"en": "n={n} runs", "ja": "{n} 回の実行"},
    "hover.repeat": {"en": "repeat #{repeat}", "ja": "繰り返し #{repeat}"},
    "hover.accuracy_cost": {
        "en": "accuracy {accuracy}% · {cost} {value}",
        "ja": "正解率 {accuracy}%・{cost} {value}",
    },
    "hover.pareto": {"en": "Pareto front: {name}", "ja": "パレートフロント：{name}"},
    "hover.bar": {"en": "{name}: {value}% ({runs})", "ja": "{name}：{value}%（{runs}）"},
    "hover.bar_spread": {
        "en": "{name}: {value}% ± {spread} ({runs})",
        "ja": "{name}：{value}% ± {spread}（{runs}）",
    },
}

#: Words substituted into captions and labels.
TERMS: dict[str, dict[str, str]] = {
    "domain": {"en": "kind of input", "ja": "入力の種類"},
    "class": {"en": "class", "ja": "クラス"},
    "cluster": {"en": "cluster", "ja": "クラスター"},
    "correct": {"en": "correctness", "ja": "正誤"},
    "input": {"en": "input #{n}", "ja": "入力 #{n}"},
    "pca": {"en": "PCA", "ja": "PCA"},
    "tsne": {"en": "t-SNE", "ja": "t-SNE"},
    "cp": {"en": "CP", "ja": "CP"},
    "tucker": {"en": "Tucker", "ja": "タッカー"},
    "tr": {"en": "Tensor Ring", "ja": "テンソルリング"},
    "cost.flops": {"en": "compute per input", "ja": "入力あたりの計算量"},
    "cost.flops_extra": {"en": "extra compute per input", "ja": "入力あたりの追加計算量"},
    "cost.trainable": {"en": "number of trainable parameters", "ja": "学習するパラメーター数"},
    "cost.latency_s": {"en": "response time", "ja": "応答時間"},
    "cost.peak_memory_bytes": {"en": "memory use", "ja": "メモリ使用量"},
    "cost.train_time_s": {"en": "training time", "ja": "学習時間"},
    "cost.adapter_bytes": {"en": "storage per task", "ja": "タスクごとの保存容量"},
    # the groups of the "correct" grouping (metalora.analysis.ScalingTable.grouping)
    "answer.correct": {"en": "correct", "ja": "正解"},
    "answer.wrong": {"en": "wrong", "ja": "不正解"},
    # how an effective rank was chosen (RankSweep.rule), and whether it keeps the update within the tolerance
    "rule.within": {"en": "within tolerance", "ja": "許容誤差内"},
    "rule.tolerance": {"en": "tolerance rule", "ja": "許容誤差で決定"},
    "rule.knee": {"en": "knee rule", "ja": "曲線の曲がり点で決定"},
    "rule.max": {"en": "max rule", "ja": "試した最大のランク"},
    "rule.zero": {"en": "zero rule", "ja": "更新がゼロ"},
    "rule.none": {"en": "no finite error", "ja": "誤差を求められず"},
    # the modes of a learned factor (metalora.analysis.Spectrum.mode; "mode {n}" where a mode has no name)
    "mode.out channels": {"en": "out channels", "ja": "出力チャンネル"},
    "mode.in channels": {"en": "in channels", "ja": "入力チャンネル"},
    "mode.kernel height": {"en": "kernel height", "ja": "カーネルの高さ"},
    "mode.kernel width": {"en": "kernel width", "ja": "カーネルの幅"},
    "mode.left bond": {"en": "left bond", "ja": "左の結合"},
    "mode.right bond": {"en": "right bond", "ja": "右の結合"},
    "mode.rank": {"en": "rank", "ja": "ランク"},
    "mode.n": {"en": "mode {n}", "ja": "モード {n}"},
}


def term(key: str, lang: str = "en", **fields) -> str:
    """One translated word (``term("domain", "ja") == "入力の種類"``); :class:`KeyError` for an unknown key."""
    return text(TERMS, key, lang, **fields)


def term_both(key: str, **fields) -> dict[str, str]:
    """``{"en": ..., "ja": ...}`` of :func:`term`, ready to pass as a field."""
    return {lang: term(key, lang, **fields) for lang in LANGUAGES}


def label(key: str, lang: str = "en", **fields) -> str:
    """A title, axis or legend label in ``lang`` with its placeholders filled."""
    return text(LABELS, key, lang, **fields)


def caption(key: str, **fields) -> dict[str, str]:
    """The caption of figure ``key`` in every language: ``{"en": ..., "ja": ...}``."""
    return {lang: text(CAPTIONS, key, lang, **fields) for lang in LANGUAGES}


def describe_input(facts, lang: str = "en") -> str:
    """The name of one input in hover texts and pickers: ``"input #12 · class 3 · mirrored · predicted 3"``.

    ``facts`` is a :class:`metalora.analysis.InputFacts` (``ScalingTable.facts(row)``); its class is written
    as the table names it, its domain by its display name (:func:`metalora.i18n.domain_name`: a library
    domain id in ``lang``, any other name as it is).
    """
    domain = domain_name(facts.domain, lang)
    name = label("hover.input", lang, index=facts.index, label=facts.label, domain=domain)
    if facts.predicted is not None:
        name += label("sep", lang) + label("hover.predicted", lang, label=facts.predicted)
    return name


def domain_names(names, lang: str = "en") -> list[str]:
    """The display names of domain ``names`` in ``lang`` (:func:`metalora.i18n.domain_name`), as the figures
    write them; a name that would read like another domain's is kept as it is (groups never merge)."""
    names = [str(n) for n in names]
    shown = [domain_name(n, lang) for n in names]
    return [s if shown.count(s) == 1 else n for n, s in zip(names, shown, strict=True)]


def layer_both(name: str, names: Iterable[str] | None = None) -> dict[str, str]:
    """``{"en": ..., "ja": ...}`` of a layer's name for people, ready to pass as a field: named among
    ``names`` (every layer of the model, :func:`metalora.i18n.layer_names`) when given."""
    if names is None:
        return {lang: layer_name(name, lang) for lang in LANGUAGES}
    return {lang: layer_names([*names, name], lang)[name] for lang in LANGUAGES}


def layer_hover(name: str, lang: str, shown: str | Mapping[str, str] | None = None) -> str:
    """A layer in a hover text: its name for people with its code name (``"Stage 2 · block 1 · conv 2
    (stages.1.0.conv2)"``); ``shown`` the name for people (a string, or one per language) when the caller
    has it."""
    if isinstance(shown, Mapping):
        shown = shown[lang]
    return layer_label(name, lang, shown=shown)


def mode_name(mode: str, lang: str = "en") -> str:
    """A mode of a learned factor (``Spectrum.mode``: ``"left bond"``, ``"out channels"``, ``"mode 2"``...)."""
    unnamed = re.fullmatch(r"mode (\d+)", mode)
    return term("mode.n", lang, n=unnamed[1]) if unnamed else term(f"mode.{mode}", lang)
