"""Small drawing helpers shared by every page: language, meeting mode, errors, charts with captions.

Pages call these instead of Streamlit directly for the things that must look the same everywhere:
a chart always comes with its one-sentence meaning, technical controls fold away in meeting mode,
and an error is a plain ``st.error`` that says what went wrong and what to do.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence

import streamlit as st

from app import session
from app.strings import t

log = logging.getLogger("metalora.app")

BASE_CSS = """
<style>
[data-testid="stMain"] img { image-rendering: pixelated; }  /* small images stay crisp when enlarged */
[data-testid="stAppDeployButton"] { display: none; }  /* a developer tool, not for the room */
.st-key-charts_preload { display: none; }  /* preload_charts: an empty chart that only loads the library */
/* the glossary in the narrow sidebar (app/glossary.py): compact type, also in meeting mode */
.st-key-glossary [data-testid="stMarkdownContainer"] li,
.st-key-glossary [data-testid="stMarkdownContainer"] p { font-size: 0.85rem !important; line-height: 1.4; }
/* no animation while a training runs: on a 2-core laptop the browser's redrawing of a progress bar that
   glides to each new value, and of the running indicator, took time from the training itself */
[data-testid="stProgress"] *, [data-testid="stStatusWidget"] * {
  transition: none !important; animation: none !important; }
/* the pipeline on Home (flow_html): rounded boxes joined by arrows, wrapping on a narrow screen */
.ml-flow { display: flex; flex-wrap: wrap; align-items: center; gap: 0.4rem; margin: 0.6rem 0 0.4rem 0; }
.ml-flow .ml-node { border: 1.5px solid #4C5A6A; border-radius: 0.6rem; padding: 0.45rem 0.8rem;
  background: #F4F6F9; color: #1B1F24; font-size: 0.95em; line-height: 1.3; }
.ml-flow .ml-arrow { color: #4C5A6A; font-size: 1.3em; }
</style>
"""

MEETING_CSS = """
<style>
html, body, [data-testid="stAppViewContainer"] { font-size: 20px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 1.15rem; }
[data-testid="stCaptionContainer"] p { font-size: 1.1rem; color: #1B1F24; }
h1 { font-size: 2.6rem !important; } h2 { font-size: 2.0rem !important; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] [data-testid="stMarkdownContainer"] p {
  font-size: 2.6rem; line-height: 1.2; }  /* the big numbers stay big (the rule for p above is smaller) */
[data-testid="stTable"] th, [data-testid="stTable"] td { font-size: 1.0rem; }
[data-testid="stToolbar"] { display: none; }
/* long labels wrap instead of ending in "…": the menu's page titles, the metrics' labels and deltas */
[data-testid="stSidebarNav"] a span, [data-testid="stMetricLabel"], [data-testid="stMetricLabel"] *,
[data-testid="stMetricDelta"], [data-testid="stMetricDelta"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
</style>
"""


PRELOAD_AFTER_S = 1.0
"""Seconds after a page is drawn when :func:`preload_charts` loads the chart library (once per tab)."""
PRELOAD_TICKS = 3
"""Ticks (of :data:`PRELOAD_AFTER_S`) the hidden chart stays, so that the library loads and draws it."""
_PRELOADED, _FULL_RUN = "charts_preloaded", "charts_preload_full_run"


def preload_charts() -> None:
    """Load the chart library into this tab while its first page is read, instead of on its first chart page.

    The browser loads Streamlit's Plotly code (4.7 MB) the first time a tab draws a chart: in headless
    Chromium on 2 cores a fresh tab's first chart page took 2.0–2.5 s against 0.5–0.65 s for the same page
    again. So every session draws one empty chart, hidden by CSS (``.st-key-charts_preload``) and with no
    text, on the first tick of a timed fragment, :data:`PRELOAD_AFTER_S` after its page is drawn and idle
    (so the cold start is not slowed, and a page's own run never draws it). After :data:`PRELOAD_TICKS`
    ticks it asks for a full run, which leaves the fragment out and so stops its timer: one that kept
    ticking while the demo trained slowed the demo (the first demo after a start: 31.7 s against 23.8 s).
    Nor does a session declare the timer while its training runs (a demo clicked at once, before the last
    tick): with the browser slowed 4× the ticks beside a tiny demo doubled its time (6.4–6.9 s against
    3.3–3.5 s). After the training the preload goes on where it stopped.
    ``benchmarks/bench_app.py`` times that first chart page ("a new tab's first chart page").
    """
    if st.session_state.get(_PRELOADED, 0) > PRELOAD_TICKS:
        return
    job = session.job()
    if job is not None and job.active:  # no timer beside a training (a demo clicked at once); after it, again
        return
    st.session_state[_FULL_RUN] = True  # the fragment's body runs in this full run too: it then only waits

    def tick() -> None:
        if st.session_state.pop(_FULL_RUN, False):
            return
        ticks = st.session_state[_PRELOADED] = st.session_state.get(_PRELOADED, 0) + 1
        if ticks > PRELOAD_TICKS:  # drawn long enough: stop the timer (the full run leaves the fragment out)
            st.rerun(scope="app")
        import plotly.graph_objects as go

        empty = go.Figure(layout={"xaxis": {"visible": False}, "yaxis": {"visible": False}})
        with st.container(key="charts_preload"):
            st.plotly_chart(empty, key="charts_preload_figure", config={"displayModeBar": False})

    st.fragment(run_every=PRELOAD_AFTER_S)(tick)()


def plotly_config(lang: str) -> dict:
    """Plotly's settings for a chart: its own texts (toolbar tooltips, notices) in ``lang``
    (:data:`app.strings.PLOTLY_TEXTS`), and no Plotly logo in the toolbar."""
    from app.strings import PLOTLY_TEXTS

    config: dict = {"displaylogo": False}
    if lang in PLOTLY_TEXTS:
        config |= {"locale": lang, "locales": {lang: {"dictionary": PLOTLY_TEXTS[lang]}}}
    return config


def streamlit_texts_css(lang: str) -> str:
    """CSS that draws Streamlit's own widget texts, which an app cannot set, in ``lang`` (nothing in English):
    the file uploader's button ("Upload") and its size limit ("200MB per file • NPZ, ..."; the file types are
    in each uploader's caption). The text is hidden (size 0) and the translation drawn after it; the browser
    walk in Japanese (tests/browser/test_japanese_walk.py) reads what is drawn, so it checks this too."""
    if lang == "en":
        return ""
    import json

    # CSS strings: quoted, the text as it is (a JSON escape such as \u30d5 is no CSS escape)
    button = json.dumps(t("upload_button", lang), ensure_ascii=False)
    limit = json.dumps(t("upload_limit", lang, mb=st.get_option("server.maxUploadSize")), ensure_ascii=False)
    zone = '[data-testid="stFileUploaderDropzone"]'
    return f"""
<style>
{zone} button [data-testid="stMarkdownContainer"] p {{ font-size: 0 !important; }}
{zone} button [data-testid="stMarkdownContainer"] p::after {{ content: {button}; font-size: 0.875rem; }}
[data-testid="stFileUploaderDropzoneInstructions"] span {{ font-size: 0 !important; }}
[data-testid="stFileUploaderDropzoneInstructions"] span::after {{ content: {limit}; font-size: 0.875rem; }}
</style>
"""


def flow_html(steps: Sequence[str]) -> str:
    """``steps`` as one row of boxes joined by arrows (HTML for ``st.markdown``; the text is escaped).

    Home's pipeline picture: drawn by the browser's own layout, with nothing to load first (a graph
    layout library took seconds to start in the first page of a cold start)."""
    import html

    arrow = '<span class="ml-arrow" aria-hidden="true">→</span>'
    boxes = [f'<span class="ml-node">{html.escape(s)}</span>' for s in steps]
    return f'<div class="ml-flow" role="list">{arrow.join(boxes)}</div>'


def lang() -> str:
    """The language the user chose (``"en"`` or ``"ja"``)."""
    return st.session_state.get("lang", "en")


def tr(key: str, **fmt) -> str:
    """The string ``key`` in the current language, formatted with ``fmt``."""
    return t(key, lang(), **fmt)


def meeting() -> bool:
    """True when meeting mode is on (large type, technical controls folded away)."""
    return bool(st.session_state.get("meeting", False))


def technical(label_key: str = "technical_settings"):
    """A container for technical controls: an expander, folded in meeting mode."""
    return st.expander(tr(label_key), expanded=not meeting())


def details(label_key: str) -> Details:
    """A section below an analysis page's headline chart: an expander titled ``label_key``, open on a desk,
    folded in meeting mode (the page then opens with its headline chart and its one sentence).

    The section knows whether it is open (opening or folding it reruns the page), and while it is folded
    the charts in it are not drawn (:func:`chart`): the browser, not the page's script, is most of a page
    switch's time on 2 cores, and a folded chart costs the browser its drawing all the same. Its widgets
    and texts are drawn as usual, so the choices made in it hold while it is folded."""
    box = st.expander(
        tr(label_key),
        expanded=not meeting(),
        key=details_key(label_key, meeting()),
        on_change="rerun",
    )
    return Details(box)


def details_key(label_key: str, meeting_mode: bool) -> str:
    """The widget key of a :func:`details` section: one per mode, so that each opens as its mode wants."""
    return f"details_{label_key}_{'meeting' if meeting_mode else 'desk'}"


_FOLDS = threading.local()  # per script thread: whether each section being drawn is folded


def _fold_stack() -> list[bool]:
    stack = getattr(_FOLDS, "stack", None)
    if stack is None:
        stack = _FOLDS.stack = []
    return stack


def folded() -> bool:
    """Whether the element being drawn now is inside a folded :func:`details` section."""
    return any(_fold_stack())


class Details:
    """A :func:`details` section: ``with section:`` draws into it (as often as a page needs), and while it is
    folded :func:`chart` leaves the charts in it undrawn. Other calls go to the expander."""

    def __init__(self, box):
        self.box = box

    @property
    def open(self) -> bool:
        return self.box.open is not False

    def __enter__(self):
        _fold_stack().append(not self.open)
        return self.box.__enter__()

    def __exit__(self, *exc):
        _fold_stack().pop()
        return self.box.__exit__(*exc)

    def __getattr__(self, name: str):
        if name == "box":  # not set yet (a copy being made): no lookup through itself
            raise AttributeError(name)
        return getattr(self.box, name)


def caption_text(caption, **fmt) -> str:
    """The caption in the current language: a ``{"en", "ja"}`` mapping or a string-table key."""
    if isinstance(caption, Mapping):
        return caption[lang()]  # the figures' captions have every language
    return tr(caption, **fmt) if caption else ""


def show_caption(caption, **fmt) -> None:
    """The one-sentence meaning of a chart, directly under it (``fmt`` fills a key's fields)."""
    show_text(caption_text(caption, **fmt))


def show_text(text: str) -> None:
    """A sentence already in the current language, shown as a chart's caption is (boxed in meeting mode)."""
    if not text:
        return
    if meeting():
        st.info(text, icon=":material/lightbulb:")
    else:
        st.caption(text)


REPORT = "report_figures"

#: The smallest chart text in meeting mode (px): read from the back of a room on a projector.
MEETING_FONT_PX = 18
#: Meeting mode's chart title and axis titles (px).
MEETING_TITLE_PX, MEETING_AXIS_TITLE_PX = 24, 20
#: How much taller a chart is in meeting mode, and the height of a figure that sets none (Plotly's, px).
MEETING_HEIGHT, DEFAULT_HEIGHT = 1.35, 450
#: How much larger the markers of a scatter are in meeting mode.
MEETING_MARKER = 1.5


def projector(fig):
    """A copy of the Plotly figure ``fig`` whose every text is at least :data:`MEETING_FONT_PX` px:
    the base font, title, axes (titles, ticks), legend, hover labels, colour bars and annotations.

    A copy, so the figure a builder returned (and the session's report) keeps its own sizes.
    """
    import plotly.graph_objects as go

    big = go.Figure(fig)
    px = MEETING_FONT_PX
    big.update_layout(
        font_size=px,
        title_font_size=MEETING_TITLE_PX,
        legend_font_size=px,
        hoverlabel_font_size=px,
    )
    axes = {"title_font_size": MEETING_AXIS_TITLE_PX, "tickfont_size": px, "automargin": True}
    big.update_xaxes(**axes)
    big.update_yaxes(**axes)
    # labels written just right of the plot (the heatmap's domain names) would run into a colour bar
    side_labels = [
        len(str(a.text or "")) for a in big.layout.annotations if a.xref == "paper" and (a.x or 0) >= 1
    ]
    for trace in big.data:
        if "colorbar" in trace:
            trace.colorbar.tickfont.size = px
            trace.colorbar.title.font.size = px
            trace.colorbar.title.side = "right"  # along the bar: a long title stays inside the chart
            if side_labels:
                trace.colorbar.x = 1.03 + 0.012 * max(side_labels)
                trace.colorbar.xanchor = "left"
                big.update_layout(margin_r=max(big.layout.margin.r or 0, 120 + 11 * max(side_labels)))
        if "textfont" in trace:
            trace.textfont.size = max(trace.textfont.size or 0, px)
        marker = getattr(trace, "marker", None)
        if trace.type in ("scatter", "scattergl") and isinstance(getattr(marker, "size", None), int | float):
            marker.size = MEETING_MARKER * marker.size  # dots seen from the back of the room
    if big.layout.coloraxis.to_plotly_json():  # a shared colour axis draws its own colour bar
        big.layout.coloraxis.colorbar.tickfont.size = px
    for note in big.layout.annotations:
        note.font.size = max(note.font.size or 0, px)
    top = big.layout.margin.t
    if top is not None:  # the larger title and legend on top need more room above the plot
        big.update_layout(margin_t=int(top * 1.5))
    # the larger ticks and titles take room from the plot: a taller figure keeps the plot (and a long
    # axis title along it) as high as on a desk
    big.update_layout(height=int(MEETING_HEIGHT * (big.layout.height or DEFAULT_HEIGHT)))
    return big


FIGURE_MEMO = "figure_memo"
"""Session state key of :func:`chart`'s memo: the session's last :data:`FIGURE_MEMO_SIZE` figures."""
FIGURE_MEMO_SIZE = 16
"""Figures a session keeps drawn (with their projector copies): a heatmap is about 1.4 MB in memory."""


def chart(figure, caption=None, *, key: str, title_key: str | None = None, memo=None, **kwargs):
    """Draw a figure with its one-sentence caption; returns what ``st.plotly_chart`` returns.

    ``figure`` is a :class:`metalora.figures.Figure` (which brings its caption) or a Plotly figure
    with ``caption`` given. In meeting mode it is drawn with projector-sized text (:func:`projector`).
    The figure is also remembered (latest version per ``key``) for the session's HTML report, under the
    heading ``title_key`` (translated when the report is written). Inside a folded :func:`details` section the
    chart and its caption are not drawn (it returns None); the report still gets the figure.

    ``memo``: a hashable value of everything the figure is drawn from (the run and the layer, say), when
    ``figure`` is a function of no arguments that builds it. The session's last :data:`FIGURE_MEMO_SIZE`
    figures are kept by ``(key, memo, language, meeting mode)``, so a page seen again does not build its
    charts again: building a Plotly figure (and its projector copy) took 30–110 ms each on 2 cores, most
    of the page script's time (the browser's drawing is the larger part of a switch). The memo lives in the
    session, never shared.
    """
    if memo is None:
        fig = getattr(figure, "fig", figure)
        caption = getattr(figure, "caption", None) or caption
        shown = projector(fig) if meeting() else fig
    else:
        fig, caption, shown = _memoised(figure, caption, (key, memo, lang(), meeting()))
    st.session_state.setdefault(REPORT, {})[key] = (title_key, fig, caption)  # the report has it all the same
    if folded():  # in a folded section: drawn when the section is opened (which reruns the page)
        return None
    event = st.plotly_chart(
        shown, key=key, width="stretch", theme=None, config=plotly_config(lang()), **kwargs
    )
    show_caption(caption)
    return event


def _memoised(build, caption, key: tuple):
    """``(figure, caption, figure as shown)`` from the session's memo, built (``build()``) on a miss."""
    memo = st.session_state.setdefault(FIGURE_MEMO, {})
    hit = memo.pop(key, None)  # popped and put back: the dict's order is the order of last use
    if hit is None:
        figure = build()
        fig = getattr(figure, "fig", figure)
        caption = getattr(figure, "caption", None) or caption
        hit = (fig, caption, projector(fig) if key[-1] else fig)
    memo[key] = hit
    while len(memo) > FIGURE_MEMO_SIZE:
        del memo[next(iter(memo))]
    return hit


def show_error(err: BaseException) -> None:
    """Show ``err`` as a plain message. MetaLoRAError messages already say what to do."""
    from metalora.errors import MetaLoRAError  # lazily: importing metalora loads torch

    if isinstance(err, MetaLoRAError):
        st.error(str(err), icon=":material/error:")
        return
    log.error("Unexpected error in the dashboard", exc_info=err)
    if meeting():
        st.error(tr("error_generic"), icon=":material/error:")
    else:
        st.error(tr("error_unexpected", detail=f"{type(err).__name__}: {err}"), icon=":material/error:")
        st.exception(err)


@contextlib.contextmanager
def guard() -> Iterator[None]:
    """Run a block; show a library error or an unexpected one as ``st.error`` instead of a traceback.

    Streamlit's own control flow (``st.rerun``, ``st.stop``) derives from BaseException and passes.
    """
    try:
        yield
    except Exception as err:
        show_error(err)


def page_title(key: str) -> None:
    """The page's title from the string table."""
    st.title(tr(key))


def selectbox(label: str, options, *, where=None, **kwargs):
    """``st.selectbox`` (in ``where``, e.g. a column) with its placeholder in the user's language: Streamlit's
    own ("Choose an option") is English, and the browser shows it in the widget's search field."""
    kwargs.setdefault("placeholder", tr("placeholder_one"))
    return (where or st).selectbox(label, options, **kwargs)


def multiselect(label: str, options, *, where=None, **kwargs):
    """``st.multiselect`` with its placeholder in the user's language (Streamlit's own is English)."""
    kwargs.setdefault("placeholder", tr("placeholder_many"))
    return (where or st).multiselect(label, options, **kwargs)


def choice(label_key: str, keys: list[str], prefix: str, *, widget=None, **kwargs) -> str:
    """A radio (or ``widget``) whose options are the translated ``tr(prefix + key)``; returns the key.

    The options are the translated texts themselves (not a ``format_func``), so switching the
    language gives a fresh widget instead of one holding a label of the other language.
    """
    labels = [tr(prefix + k) for k in keys]
    widget = widget or st.radio
    picked = widget(tr(label_key), labels, **kwargs)
    return keys[labels.index(picked)]


def layer_picker(label: str, layers: Sequence[str], names: Mapping[str, str], *, key: str, **kwargs) -> str:
    """A selectbox of layers: its options (and value) are the code names, shown by their names for people
    (``names``, :func:`app.views.layer_names`); its tooltip gives the code name of the layer it holds."""
    layers = list(layers)
    held = st.session_state.get(key)
    code = held if held in layers else (layers[0] if layers else "")
    return selectbox(
        label,
        layers,
        format_func=lambda n: names.get(n, n),
        key=key,
        help=tr("layer_code_help", code=code),
        **kwargs,
    )


def _cell(value):
    """A table cell as the projector shows it: whole numbers as such, others to 3 significant digits."""
    if isinstance(value, float):
        if value != value:  # NaN: a missing number
            return "–"
        return str(int(value)) if value.is_integer() else f"{value:.3g}"
    return "–" if value is None else value


def table(
    rows: list[dict],
    *,
    width: str = "stretch",
    columns: Sequence[str] | None = None,
    meeting_columns: Sequence[str] | None = None,
    **kwargs,
) -> None:
    """A table whose column headers are the translated ``col_<name>`` of the rows' keys.

    Every column needs its ``col_`` entry in :data:`app.strings.STRINGS` (``KeyError`` otherwise): the
    rows' keys come from the ``*_COLUMNS`` tuples of the app's modules, which the tests check. Only
    ``columns`` are shown when given. In meeting mode a table with ``meeting_columns`` shows only those, as
    a static table in the page's large type whose cells wrap, so it always fits the page's width (an
    interactive grid keeps its small type and scrolls sideways on a projector).
    """
    import pandas as pd

    df = pd.DataFrame(rows)
    projector = meeting() and meeting_columns is not None
    keep = meeting_columns if projector else columns
    if keep is not None and not df.empty:
        df = df[[c for c in keep if c in df.columns]]
    df.columns = [tr(f"col_{c}") for c in df.columns]
    if projector:
        st.table(df.style.hide(axis="index").format(_cell))
    else:
        st.dataframe(df, hide_index=True, width=width, **kwargs)
