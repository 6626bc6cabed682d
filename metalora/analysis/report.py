"""All analyses of one adapted model in one call, for the command line and a saved report.

:func:`analyse_model` is :class:`~metalora.analysis.run_analysis.RunAnalysis` (the one door to the
analyses, also used by the dashboard) asked for every view at once: it builds one ``RunAnalysis``, asks it
for the views in ``include``, and keeps them in an :class:`AnalysisReport` with the time each step took
and, for a step that does not apply to the method, the reason it was skipped. Nothing is computed here
that ``RunAnalysis`` does not compute, so the report and the dashboard show the same numbers for the same
sizes and random seed.

>>> report = analyse_model(model, data)            # doctest: +SKIP
>>> json.dump(report.to_dict(), f)                 # doctest: +SKIP
>>> figs = metalora.figures.report_figures(report)  # doctest: +SKIP
>>> Path("report.html").write_text(report.to_html("ja"))  # doctest: +SKIP

The HTML report names the data's domains by their display names in its language
(:func:`metalora.i18n.domain_name`: ``rotate90`` is "rotated 90°" / "90° 回転"), as the figures do; a
domain registered outside the library keeps its id.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..errors import MetaLoRAError
from ..i18n import domain_name, text
from ._common import to_jsonable
from .clusters import ClusterResult
from .cost import CostReport
from .ranks import RankSweep
from .run_analysis import RunAnalysis
from .scaling import ScalingTable
from .scaling_summaries import GroupStats, InputComparison
from .spectra import ComponentEnergy, Spectrum
from .updates import DEFAULT_INPUTS

__all__ = ["ANALYSES", "REPORT_TEXT", "AnalysisReport", "analyse_model", "report_from"]

ANALYSES = ("scaling", "ranks", "clusters", "cost")

#: The words of :meth:`AnalysisReport.to_html` of its own (the figures bring theirs), in both languages.
REPORT_TEXT: dict[str, dict[str, str]] = {
    "title": {"en": "What the adapter of {method} learned", "ja": "{method} のアダプターが学んだこと"},
    "inputs": {
        "en": "{n} image(s) analysed, of these kinds of input: {domains}.",
        "ja": "分析した画像：{n} 枚（入力の種類：{domains}）。",
    },
    "list_sep": {"en": ", ", "ja": "、"},
}


@dataclass
class AnalysisReport:
    """Results of :func:`analyse_model`; a part that was not asked for (or does not apply) is None or
    empty, and ``skipped`` says why.

    ``inputs`` holds the first input next to the average input and, when there are two inputs, the first
    two compared (what :func:`metalora.figures.input_scaling` draws).
    """

    method: str
    table: ScalingTable | None = None
    stats: dict[str, dict[str, GroupStats]] = field(default_factory=dict)  # by -> layer -> stats
    inputs: list[InputComparison] = field(default_factory=list)
    sweeps: dict[str, RankSweep] = field(default_factory=dict)
    spectra: dict[str, list[Spectrum]] = field(default_factory=dict)
    energy: dict[str, ComponentEnergy] = field(default_factory=dict)
    clusters: ClusterResult | None = None
    cost: CostReport | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready (arrays as lists, NaN as null). Domains keep their ids here (the data's names)."""
        return to_jsonable(self)

    def to_html(self, lang: str = "en", *, layer: str | None = None, dated: bool = False) -> str:
        """The report as one self-contained HTML page in ``lang``: every figure
        :func:`metalora.figures.report_figures` draws for ``layer``, with its caption, under a title and
        a line naming the inputs' domains (display names, as in the figures). ``dated`` adds the time the
        page was made (leave it out for a reproducible file)."""
        from ..figures import report_figures
        from ..figures.html import html_page
        from ..methods import method_label

        figures = [
            (f.fig.layout.title.text or "", f.fig, f.caption_for(lang))
            for f in report_figures(self, lang, layer)
        ]
        intro = ""
        if self.table is not None:
            present = sorted(set(self.table.domain.tolist()))
            names = text(REPORT_TEXT, "list_sep", lang).join(
                domain_name(self.table.domain_names[d], lang) for d in present
            )
            intro = text(REPORT_TEXT, "inputs", lang, n=len(self.table), domains=names)
        title = text(
            REPORT_TEXT, "title", lang, method=method_label(self.method, lang) if self.method else "–"
        )
        return html_page(title, figures, intro=intro, lang=lang, dated=dated)


def analyse_model(
    model,
    data,
    *,
    include: Sequence[str] = ANALYSES,
    max_inputs: int | None = 2000,
    layers: Sequence[str] | None = None,
    seed: int = 0,
    cost_batch: int = 64,
) -> AnalysisReport:
    """Run the analyses in ``include`` on ``model`` over ``data`` (an ImageDataset).

    The same as ``report_from(RunAnalysis(model, data, max_inputs=max_inputs, rank_inputs=64,
    seed=seed), ...)``: a larger input subset than the dashboard's default, for a saved report.
    """
    view = RunAnalysis(model, data, max_inputs=max_inputs, rank_inputs=DEFAULT_INPUTS, seed=seed)
    return report_from(view, include=include, layers=layers, cost_batch=cost_batch)


def report_from(
    view: RunAnalysis,
    *,
    include: Sequence[str] = ANALYSES,
    layers: Sequence[str] | None = None,
    cost_batch: int = 64,
) -> AnalysisReport:
    """The views in ``include`` of an existing :class:`RunAnalysis` (computed ones are reused).

    A step that does not apply to the method (scaling factors of LoRA, clusters of a static method) is
    skipped with the reason in ``report.skipped`` instead of failing the whole report.
    """
    report = AnalysisReport(method=view.method or "")

    def step(name: str, fn: Callable[[], None]) -> None:
        t0 = time.perf_counter()
        try:
            fn()
        except MetaLoRAError as err:
            report.skipped[name] = str(err)
        report.seconds[name] = time.perf_counter() - t0

    def scaling() -> None:
        report.table = view.scaling_table()
        report.stats = {by: view.scaling_stats(by) for by in ("domain", "class")}
        report.inputs = [view.input_comparison(0)] + (
            [view.input_comparison(0, 1)] if len(report.table) > 1 else []
        )

    def ranks() -> None:
        report.sweeps = view.rank_sweeps(layers)
        report.spectra = view.spectra(layers)
        if view.has_scaling:
            report.energy = view.component_energy(layers)

    if {"scaling", "clusters", "ranks"} & set(include):
        if view.has_scaling:
            step("scaling", scaling)
        else:
            report.skipped["scaling"] = f"{report.method or 'This model'} has no scaling factors."
    if "ranks" in include:
        step("ranks", ranks)
    if "clusters" in include and report.table is not None:
        step("clusters", lambda: setattr(report, "clusters", view.clusters()))
    if "cost" in include:
        step("cost", lambda: setattr(report, "cost", view.cost_report(cost_batch)))
    return report
