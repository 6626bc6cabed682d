"""The result card: MetaLoRA against LoRA in plain words and big numbers, for a meeting.

It compares the newest run of each of the demo's two methods (:data:`metalora.training.demo.DEMO_METHODS`:
the plain adapter first, the input-conditioned one second) on one data set: accuracy on unseen images
overall and per kind of input, the trainable parameters of both (the card says whether they are matched),
the extra time per image (both models timed in turns on the same batch of test images, so a busy computer
slows both alike: :meth:`RunAnalysis.latency_against`, the median of the per-round differences divided by
the batch's size) and the adapter file's size against a full copy of the
model (the bytes of the run folder's ``*.safetensors`` against the base model's parameter bytes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from app import views
from app.session_runs import RunRecord
from app.strings import domain_name, t

if TYPE_CHECKING:
    from metalora.analysis.cost import LatencyComparison

#: Counts within this share of each other are "the same number of trainable parameters" (the library's
#: rank matching lands within a few per cent: ranks are whole numbers).
MATCHED = 0.05


@dataclass(frozen=True)
class Side:
    """One method's numbers on the card."""

    run: RunRecord
    accuracy: float  # in [0, 1]
    per_domain: dict[str, float]
    trainable: int
    latency_per_image_s: float  # its median in the paired measurement (its own without one); NaN: unmeasured
    latency_images: int  # the size of the batch it was measured on (0 when not measured)
    file_bytes: int | None  # the adapter's safetensors in the run folder; None without a folder


@dataclass(frozen=True)
class Headline:
    """The card's facts: ``ours`` (MetaLoRA) against ``ref`` (LoRA), and the base model's size."""

    ours: Side
    ref: Side
    base_bytes: int | None  # None when neither run's model can be rebuilt (uploaded, folder gone)
    #: The paired measurement: the median over the rounds of (ours - ref) per image, and the interquartile
    #: range of those differences (NaN, 0 rounds, when either model cannot be rebuilt).
    extra_per_image_s: float = math.nan
    extra_spread_s: float = math.nan
    rounds: int = 0

    @property
    def matched(self) -> bool:
        a, b = self.ours.trainable, self.ref.trainable
        return abs(a - b) <= MATCHED * max(a, b, 1)

    @property
    def extra_ms(self) -> float:
        """The extra time per image of ours, paired (negative: faster; NaN: not measured)."""
        return 1000 * self.extra_per_image_s


def pair(runs: Sequence[RunRecord]) -> tuple[RunRecord, RunRecord] | None:
    """The newest (reference, input-conditioned) runs of the demo's methods among ``runs``, or None."""
    from metalora.training.demo import DEMO_METHODS

    newest = {r.method: r for r in sorted(runs, key=lambda r: r.id) if r.completed}
    picked = [newest.get(m) for m in DEMO_METHODS]
    return None if None in picked else (picked[0], picked[1])


def file_bytes(run: RunRecord) -> int | None:
    """Bytes of every ``*.safetensors`` file of the run's folder (None when it has no folder)."""
    folder = run.result.adapter_path
    if not folder or not Path(folder).is_dir():
        return None
    return sum(p.stat().st_size for p in Path(folder).rglob("*.safetensors"))


def base_bytes(*runs: RunRecord) -> int | None:
    """Bytes of the base model's parameters: those of the trained model that training left frozen (of
    the first run whose model can be rebuilt; None when none can)."""
    from metalora.errors import MetaLoRAError

    for run in runs:
        try:
            return sum(p.numel() * p.element_size() for p in run.model.parameters() if not p.requires_grad)
        except MetaLoRAError:  # an uploaded model, a missing folder: the facts stay, the size is unknown
            continue
    return None


def paired(ours: RunRecord, ref: RunRecord) -> LatencyComparison | None:
    """Both runs' models timed in turns on the same batch of ``ours``'s test images (measured once per
    pair, kept in ``ours``'s analysis), or None when either model cannot be rebuilt."""
    from metalora.errors import MetaLoRAError

    try:
        return views.analysis(ours).latency_against(views.analysis(ref))
    except MetaLoRAError:
        return None


def side(run: RunRecord, timed: LatencyComparison | None = None, name: str = "model") -> Side:
    """One run's numbers; its latency is its median in ``timed`` (the paired measurement, where it is
    ``name``), else measured on its own (once, kept with the run's analysis): NaN for a run whose model
    cannot be rebuilt (its recorded facts are still shown)."""
    from metalora.errors import MetaLoRAError

    if timed is not None:
        batch, latency = timed.batch_size, timed.per_input_s(timed.median_s[name])
    else:
        try:
            view = views.analysis(run)
            batch = min(view.latency_batch, len(run.splits.test))
            latency = view.latency_s() / max(batch, 1)
        except MetaLoRAError:
            batch, latency = 0, math.nan
    r = run.result
    return Side(run, r.accuracy, r.per_domain, int(r.trainable_params), latency, batch, file_bytes(run))


def headline(runs: Sequence[RunRecord]) -> Headline | None:
    """The card's facts for the runs in view, or None without a run of both methods.

    Accuracies on different data cannot be compared: only the runs on the data set of the newest run
    count (the Accuracy & cost page passes one data set already).
    """
    if not runs:
        return None
    newest = max(runs, key=lambda r: r.id).data_key
    found = pair([r for r in runs if r.data_key == newest])
    if found is None:
        return None
    ref, ours = found
    timed = paired(ours, ref)
    extra = {}
    if timed is not None:
        extra = {
            "extra_per_image_s": timed.per_input_s(timed.diff_s["model"]),
            "extra_spread_s": timed.per_input_s(timed.diff_iqr_s["model"]),
            "rounds": timed.rounds,
        }
    return Headline(
        ours=side(ours, timed, "model"),
        ref=side(ref, timed, "reference"),
        base_bytes=base_bytes(ours, ref),
        **extra,
    )


def missing(lang: str) -> str:
    """Why there is no card: it needs a run of both methods on one data set."""
    from metalora.methods import method_label
    from metalora.training.demo import DEMO_METHODS

    ref, ours = (method_label(m, lang) for m in DEMO_METHODS)
    return t("headline_missing", lang, a=ours, b=ref)


# ----------------------------------------------------------------------------- words and numbers
def pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def ms(seconds: float) -> str:
    """Seconds as milliseconds with two decimals ("–" when not measured)."""
    return "–" if math.isnan(seconds) else f"{1000 * seconds:.2f}"


def size_text(n: int, lang: str) -> str:
    """``n`` bytes in KiB below one MiB, else in MiB."""
    if n < 1024**2:
        return t("unit_kib", lang, n=f"{n / 1024:.0f}")
    return t("unit_mib", lang, n=f"{n / 1024**2:.1f}")


def count_text(n: int) -> str:
    return f"{n:,}"


def names(h: Headline, lang: str) -> tuple[str, str]:
    from metalora.methods import method_label

    return method_label(h.ours.run.method, lang), method_label(h.ref.run.method, lang)


def file_text(h: Headline, lang: str) -> str:
    if h.ours.file_bytes is None:
        return "–"
    return size_text(h.ours.file_bytes, lang)


def sentence(h: Headline, lang: str) -> str:
    """The one sentence under the card: what it shows, in plain words."""
    a, b = names(h, lang)
    points = round(100 * (h.ours.accuracy - h.ref.accuracy), 1)
    if points > 0:
        diff = t("headline_better", lang, points=f"{points:.1f}", other=b)
    elif points < 0:
        diff = t("headline_worse", lang, points=f"{-points:.1f}", other=b)
    else:
        diff = t("headline_same", lang, other=b)
    na, nb = count_text(h.ours.trainable), count_text(h.ref.trainable)
    if math.isnan(h.extra_ms):
        time = t("headline_untimed", lang)
    else:
        time = t(
            "headline_slower" if h.extra_ms >= 0 else "headline_faster", lang, time=f"{abs(h.extra_ms):.2f}"
        )
    size = file_text(h, lang)
    if h.ours.file_bytes is not None and h.base_bytes:
        size += " (" + file_detail(h, lang) + ")"
    return t(
        "headline_sentence",
        lang,
        a=a,
        diff=diff,
        acc_a=pct(h.ours.accuracy),
        acc_b=pct(h.ref.accuracy),
        budget=t("headline_matched" if h.matched else "headline_unmatched", lang, a=a, b=b, na=na, nb=nb),
        time=time,
        size=size,
    )


def share(h: Headline) -> str:
    """The adapter file as a share of a full copy of the model ("–" when either size is unknown)."""
    if h.ours.file_bytes is None or not h.base_bytes:
        return "–"
    x = h.ours.file_bytes / h.base_bytes
    return f"{100 * x:.1f} %" if x >= 0.001 else "< 0.1 %"


def file_detail(h: Headline, lang: str) -> str:
    """ "3.4 % of a full copy of the model (304 KiB)"."""
    full = "–" if not h.base_bytes else size_text(h.base_bytes, lang)
    return t("headline_file_detail", lang, share=share(h), full=full)


# ----------------------------------------------------------------------------- drawing
def points(x: float) -> str:
    """A difference of accuracies in points, signed (``"+2.5"``)."""
    return f"{100 * x:+.1f}"


def metrics_rows(specs: list[dict], per_row: int) -> None:
    """``st.metric(**spec)`` for every spec, ``per_row`` to a row."""
    for start in range(0, len(specs), per_row):
        for col, spec in zip(st.columns(per_row), specs[start : start + per_row], strict=False):
            col.metric(**spec)


def difference(label: str, value: float, other: float, text: str) -> dict:
    """A metric of an accuracy with its difference to the other method (no arrow for "no difference")."""
    flat = round(100 * (value - other), 1) == 0
    return {
        "label": label,
        "value": pct(value),
        "delta": text,
        "delta_color": "off" if flat else "normal",
        "delta_arrow": "off" if flat else "auto",
    }


def show(h: Headline | None, lang: str) -> None:
    """The card: the big numbers in three rows (accuracy, per kind of input, cost) and its sentence.

    In meeting mode every row has two wide columns, so the projector's large numbers are never cut.
    """
    from app.ui import meeting

    if h is None:
        return
    a, b = names(h, lang)
    wide = meeting()
    quiet = {"delta_color": "off", "delta_arrow": "off"}
    with st.container(border=True, key="headline"):
        st.subheader(t("headline_header", lang))
        st.markdown(f"**{t('headline_accuracy', lang)}**")
        diff = h.ours.accuracy - h.ref.accuracy
        counts = t(
            "headline_params_value", lang, a=count_text(h.ours.trainable), b=count_text(h.ref.trainable)
        )
        first = [
            difference(
                a, h.ours.accuracy, h.ref.accuracy, t("headline_delta", lang, delta=points(diff), other=b)
            ),
            {"label": b, "value": pct(h.ref.accuracy)},
        ]
        params = {
            "label": t("headline_params", lang),
            "value": counts,
            "delta": t("headline_matched_short" if h.matched else "headline_unmatched_short", lang),
            "help": f"{a}: {count_text(h.ours.trainable)} · {b}: {count_text(h.ref.trainable)}",
            **quiet,
        }
        metrics_rows(first if wide else [*first, params], 2 if wide else 3)
        domains = [d for d in h.ours.per_domain if d in h.ref.per_domain]
        if domains:
            st.markdown(f"**{t('headline_by_domain', lang, method=a)}**")
            specs = []
            for d in domains:
                mine, theirs = h.ours.per_domain[d], h.ref.per_domain[d]
                text = t("headline_domain_delta", lang, delta=points(mine - theirs), other=b, acc=pct(theirs))
                specs.append(difference(domain_name(d, lang), mine, theirs, text))
            metrics_rows(specs, 2 if wide else 4)
        extra = "–" if math.isnan(h.extra_ms) else f"{h.extra_ms:+.2f}"
        detail = t(
            "headline_time_detail",
            lang,
            a=a,
            b=b,
            ta=ms(h.ours.latency_per_image_s),
            tb=ms(h.ref.latency_per_image_s),
        )
        time = {
            "label": t("headline_time", lang),
            "value": t("headline_time_value", lang, delta=extra),
            "delta": detail,
            "help": t(
                "headline_time_help",
                lang,
                n=h.ours.latency_images,
                k=h.rounds,
                spread=ms(h.extra_spread_s),
            ),
            **quiet,
        }
        size = {
            "label": t("headline_file", lang),
            "value": file_text(h, lang),
            "delta": file_detail(h, lang),
            **quiet,
        }
        metrics_rows([params, time, size] if wide else [time, size], 2)
        st.markdown(sentence(h, lang))
