"""Rank sweeps with TensorLy: how many components does a tensor (a layer's update) really need?

:func:`rank_sweep` decomposes one tensor at a sweep of ranks with TensorLy and records the relative
reconstruction error ``‖X − X̂‖_F / ‖X‖_F`` at each rank: CP (``parafac``, ALS warm-started from the
previous rank), Tucker (``tucker``: the truncated HOSVD, quasi-optimal within √d of the best error) and
Tensor Ring (``tensor_ring`` TR-SVD and ``tensor_ring_als``; Zhao et al. 2016, arXiv:1606.05535).
:mod:`metalora.analysis.updates` feeds it the stack of per-input updates ΔW(x) of an adapted layer.

Speed: every decomposition runs on the lossless compression of :mod:`.compression` (the HOSVD core,
same errors, far smaller: the stack of a rank-R MetaLoRA layer over N inputs has at most R independent
directions across inputs, so N hardly matters), with one BLAS thread and iteration caps.

Effective rank (documented rule): the smallest rank of the sweep whose relative error is at most
``tol`` (default 0.1, i.e. the approximation keeps about 99 % of the tensor's energy). If no rank of
the sweep reaches ``tol``, the knee of the error curve is used instead (the Kneedle rule of Satopää
et al. 2011: after scaling ranks and errors to [0, 1], the point furthest below the straight line
from the first to the last point), and ``rule`` says ``"knee"``. A curve that stays within
``KNEE_MIN`` (0.1, in those scaled units) of that straight line has no bend: then the update uses
every rank of the sweep, the effective rank is the largest rank tried and ``rule`` says ``"max"``.
Only under ``"tolerance"`` does the effective rank keep the tensor within ``tol``: under ``"knee"`` and
``"max"`` its error can be far larger (40 % is common for a busy layer), so every sweep also records that
error (``effective_error``) and a figure must say which rule chose the rank.
Errors are made non-increasing in the rank (a rank-r model is also a rank-(r+1) model, padded with
zeros), so each point is the best model found up to that rank.

Tensor Ring: TensorLy's TR-SVD (``tensor_ring``) is fast but not optimal at a fixed rank, silently
lowers bond ranks that a mode is too small to carry, and refuses a first core whose two bonds
multiply to more than its mode size. Here the first core is put on the largest mode, its two bonds
are lowered explicitly when needed, the bond ranks really used are read back from the cores and
reported (``used_ranks["tr"]``, ``notes``), and TR-ALS (a few iterations from a random start) at
exactly the requested ranks is also run, below the first rank where TR-SVD already meets ``tol``;
the better of the two is kept. Both are upper bounds on the best TR error at a rank (fitting a
fixed-rank ring is non-convex), so a TR effective rank may be overestimated, never underestimated.

TensorLy runs on its NumPy backend, set for this thread only (never ``tl.set_backend`` globally).
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError, DataError
from ._common import numpy_backend, to_jsonable
from .compression import compress, gram_svd

__all__ = [
    "DEFAULT_TOL",
    "KNEE_MIN",
    "METHODS",
    "RankSweep",
    "compress",
    "effective_rank",
    "gram_svd",
    "knee_rank",
    "rank_sweep",
]

METHODS = ("cp", "tucker", "tr")
DEFAULT_TOL = 0.1
KNEE_MIN = 0.1  # scaled distance below the chord that counts as a bend
_HOOI_ITER = 0  # Tucker: the truncated HOSVD (TensorLy's SVD start), within √d of the best error


@dataclass
class RankSweep:
    """Relative reconstruction error against rank for one tensor, per decomposition.

    Attributes
    ----------
    name : str
        What was decomposed (a layer name, or ``"tensor"``).
    shape : tuple[int, ...]
        Shape of the tensor decomposed; ``mode_labels`` names its modes.
    ranks : list[int]
        The ranks of the sweep.
    errors : dict[str, np.ndarray]
        ``{method: (len(ranks),) relative error}``; NaN where a rank could not be used at all.
    used_ranks : dict[str, list]
        The rank really used for each requested rank: CP the rank, Tucker the multilinear rank tuple
        (capped by each mode's size), TR the tuple of bond ranks read back from TensorLy's cores.
    effective_rank : dict[str, int | None]
        The effective rank per method (see the module docstring); 0 for an all-zero tensor.
    rule : dict[str, str]
        How it was found: ``"tolerance"`` (the smallest rank within ``tol``), ``"knee"`` (no rank reaches
        ``tol``: the bend of the curve), ``"max"`` (no rank reaches ``tol`` and the curve has no bend: the
        largest rank tried), ``"zero"`` (an all-zero tensor) or ``"none"`` (no finite error).
    effective_error : dict[str, float]
        The relative error at the effective rank per method (0 for an all-zero tensor, NaN without one):
        at most ``tol`` only when ``rule`` is ``"tolerance"``.
    mode_spectra : list[np.ndarray]
        Singular values of every mode unfolding (descending), from the compression step.
    """

    name: str
    shape: tuple[int, ...]
    mode_labels: list[str]
    ranks: list[int]
    errors: dict[str, np.ndarray]
    used_ranks: dict[str, list]
    effective_rank: dict[str, int | None]
    rule: dict[str, str]
    tol: float
    effective_error: dict[str, float] = field(default_factory=dict)
    mode_spectra: list[np.ndarray] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def within_tol(self, method: str) -> bool:
        """True when ``method``'s effective rank keeps the tensor within ``tol`` (rule "tolerance" or "zero")."""
        return self.rule.get(method) in ("tolerance", "zero")

    def to_dict(self) -> dict:
        return to_jsonable(self.__dict__)


# ----------------------------------------------------------------------------- effective rank
def knee_rank(ranks: Sequence[int], errors: Sequence[float], min_bend: float = 0.0) -> int | None:
    """The knee of a decreasing error curve (Kneedle): furthest point below the first-to-last chord.

    None when the curve bends less than ``min_bend`` (scaled units) below the chord anywhere.
    """
    pts = [(r, e) for r, e in zip(ranks, errors, strict=True) if np.isfinite(e)]
    if not pts:
        return None
    if len(pts) < 3:
        return int(pts[-1][0])
    r = np.array([p[0] for p in pts], float)
    e = np.array([p[1] for p in pts], float)
    xs = (r - r[0]) / max(r[-1] - r[0], 1e-12)
    span = e[0] - e.min()
    if span <= 0:
        return int(r[0])
    ys = (e - e.min()) / span
    bend = (1.0 - xs) - ys
    k = int(np.argmax(bend))
    return int(r[k]) if bend[k] >= min_bend and bend[k] > 0 else None


def effective_rank(
    ranks: Sequence[int], errors: Sequence[float], tol: float = DEFAULT_TOL
) -> tuple[int | None, str]:
    """``(rank, rule)``: the smallest rank with error ≤ ``tol`` ("tolerance"), else the knee ("knee"),
    else, for a curve without a bend, the largest rank tried ("max"); ``(None, "none")`` without data."""
    finite = [(r, e) for r, e in zip(ranks, errors, strict=True) if np.isfinite(e)]
    if not finite:
        return None, "none"
    hits = [r for r, e in finite if e <= tol]
    if hits:
        return int(min(hits)), "tolerance"
    knee = knee_rank(ranks, errors, KNEE_MIN)
    return (knee, "knee") if knee is not None else (int(max(r for r, _ in finite)), "max")


# ----------------------------------------------------------------------------- the sweep
def rank_sweep(
    tensor,
    ranks: Sequence[int] | None = None,
    methods: Sequence[str] = METHODS,
    *,
    tol: float = DEFAULT_TOL,
    n_iter_max: int = 10,
    tr_als_iter: int = 5,
    als_max_entries: int | None = None,
    random_state: int = 0,
    name: str = "tensor",
    mode_labels: Sequence[str] | None = None,
    threads: int | None = 1,
) -> RankSweep:
    """Relative error of CP / Tucker / TR approximations of ``tensor`` at each rank of ``ranks``.

    Parameters
    ----------
    tensor : array-like
        Any tensor of order ≥ 2 (converted to float64).
    ranks : sequence of int
        Ranks to try; default 1..8.
    methods : sequence of {"cp", "tucker", "tr"}
    tol : float
        Relative error that counts as "reconstructed" for the effective rank.
    n_iter_max : int
        Iteration cap of CP-ALS (warm-started from the previous rank's factors) and of Tucker-HOOI
        (from the HOSVD); both stop earlier once the error changes by less than 1e-6.
    tr_als_iter : int
        Iteration cap of TR-ALS after TR-SVD; 0 keeps TR-SVD alone (fast, but only an upper bound).
    als_max_entries : int or None
        Skip TR-ALS (with a note) when the compressed tensor has more entries than this: its cost grows
        with entries × rank², and on large tensors a few iterations from a random start rarely beat
        TR-SVD by enough to change the effective rank. None: no limit.
    threads : int or None
        BLAS threads during the sweep (None: leave as is). One by default: the matrices are small, and
        OpenBLAS threads spin-wait when cores are shared (measured 4-10× faster on a busy 2-core machine).
    random_state : int
        Seed of TensorLy's random parts: same seed, same result.
    """
    x = np.asarray(tensor, dtype=np.float64)
    if x.ndim < 2:
        raise DataError(f"A tensor of shape {x.shape} has nothing to decompose.", "Pass a matrix or higher.")
    if not np.all(np.isfinite(x)):
        raise DataError("The tensor holds NaN or infinite values.", "Check the model's weights.")
    ranks = list(range(1, 9) if ranks is None else ranks)
    if not ranks or any(int(r) != r or r < 1 for r in ranks):
        raise ConfigError(f"ranks={ranks!r} must be positive integers.", "E.g. ranks=range(1, 9).")
    ranks = sorted({int(r) for r in ranks})
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ConfigError(f"Unknown decomposition(s) {unknown}.", f"Use any of {', '.join(METHODS)}.")
    labels = list(mode_labels) if mode_labels is not None else [f"mode {k}" for k in range(x.ndim)]
    norm2 = float(np.sum(x * x))
    result = RankSweep(name, tuple(x.shape), labels, ranks, {}, {}, {}, {}, float(tol))
    if norm2 == 0.0:
        for m in methods:
            result.errors[m] = np.full(len(ranks), np.nan)
            result.used_ranks[m] = [None] * len(ranks)
            result.effective_rank[m], result.rule[m], result.effective_error[m] = 0, "zero", 0.0
        result.mode_spectra = [np.zeros(min(d, x.size // d)) for d in x.shape]
        result.notes.append("The tensor is all zeros (an untrained adapter's update is zero): rank 0.")
        return result
    with _blas_threads(threads):
        return _sweep(
            x, result, methods, ranks, norm2, tol, n_iter_max, tr_als_iter, als_max_entries, random_state
        )


def _blas_threads(threads: int | None):
    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(int(threads), user_api="blas")


def _sweep(
    x: np.ndarray,
    result: RankSweep,
    methods: Sequence[str],
    ranks: list[int],
    norm2: float,
    tol: float,
    n_iter_max: int,
    tr_als_iter: int,
    als_max_entries: int | None,
    random_state: int,
) -> RankSweep:
    """The sweep proper on a non-zero tensor (see :func:`rank_sweep`); fills and returns ``result``."""
    t0 = time.perf_counter()
    core, _, residual, spectra = compress(x)
    result.mode_spectra = spectra
    result.seconds["compress"] = time.perf_counter() - t0
    with numpy_backend(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for m in methods:
            t0 = time.perf_counter()
            if m == "cp":
                runs = _cp_sweep(core, ranks, n_iter_max, random_state)
            elif m == "tucker":
                runs = [_tucker(core, r, n_iter_max, random_state) for r in ranks]
            else:
                target = max(0.0, tol**2 * norm2 - residual)  # squared error on the core that meets tol
                als = tr_als_iter
                if als > 0 and als_max_entries is not None and core.size > als_max_entries:
                    als = 0
                    result.notes.append(
                        f"TR-ALS skipped: the compressed tensor has {core.size:,} entries (limit "
                        f"{als_max_entries:,}); the TR errors are TR-SVD upper bounds."
                    )
                runs = _tr_sweep(core, ranks, als, random_state, target)
            errs = np.array(
                [np.sqrt((e + residual) / norm2) if np.isfinite(e) else np.nan for e, _, _ in runs]
            )
            result.notes.extend(note for _, _, note in runs if note)
            best = np.minimum.accumulate(np.where(np.isfinite(errs), errs, np.inf))
            result.errors[m] = np.where(np.isfinite(errs), best, np.nan)
            result.used_ranks[m] = [u for _, u, _ in runs]
            eff, result.rule[m] = effective_rank(ranks, result.errors[m], tol)
            result.effective_rank[m] = eff
            result.effective_error[m] = float(result.errors[m][ranks.index(eff)]) if eff else float("nan")
            result.seconds[m] = time.perf_counter() - t0
    return result


def _cp_sweep(core: np.ndarray, ranks: list[int], n_iter_max: int, seed: int) -> list[tuple]:
    """CP-ALS (TensorLy ``parafac``) at each rank; rank r starts from rank r-1's factors plus the
    r-th column of the SVD start, which converges in far fewer iterations than a cold start."""
    from tensorly.cp_tensor import CPTensor, cp_to_tensor
    from tensorly.decomposition import parafac
    from tensorly.decomposition._cp import initialize_cp

    out, prev = [], None
    for r in ranks:
        init = initialize_cp(core, r, init="svd", svd=gram_svd, random_state=seed)
        if prev is not None and prev.rank < r:
            w, fs = prev
            factors = [f.copy() for f in init.factors]
            for k, f in enumerate(fs):
                factors[k][:, : prev.rank] = f * (w[None, :] if k == 0 else 1.0)
            init = CPTensor((np.ones(r), factors))
        try:
            cp = parafac(
                core, rank=r, n_iter_max=n_iter_max, init=init, svd=gram_svd, tol=1e-6, random_state=seed
            )
        except np.linalg.LinAlgError:  # more components than the tensor has directions: singular ALS
            note = f"CP rank {r}: ALS met a singular system (the tensor has fewer directions); rank {r - 1} kept."
            out.append((out[-1][0] if out else float("inf"), r, note))
            continue
        out.append((float(np.sum((core - cp_to_tensor(cp)) ** 2)), r, None))
        prev = cp
    return out


def _tucker(core: np.ndarray, r: int, n_iter_max: int, seed: int):
    from tensorly.decomposition import tucker
    from tensorly.tucker_tensor import tucker_to_tensor

    multi = [min(r, d) for d in core.shape]
    if all(m == d for m, d in zip(multi, core.shape, strict=True)):
        return 0.0, tuple(multi), None  # full multilinear rank: exact
    tk = tucker(
        core,
        rank=multi,
        n_iter_max=_HOOI_ITER,
        init="svd",
        svd=gram_svd,
        tol=1e-6,
        random_state=seed,
    )
    return float(np.sum((core - tucker_to_tensor(tk)) ** 2)), tuple(multi), None


def _tr_sweep(core: np.ndarray, ranks: list[int], als_iter: int, seed: int, target: float) -> list[tuple]:
    """TR-SVD at every rank; TR-ALS only below the first rank where TR-SVD already meets ``tol``
    (ALS could lower the error there, but not the effective rank)."""
    first = int(np.argmax(core.shape))
    y = np.transpose(core, list(range(first, core.ndim)) + list(range(first)))  # first core: largest mode
    out, met = [], False
    for r in ranks:
        err2, bonds, note = _tr_svd(y, r, seed)
        met = met or err2 <= target
        if not met and als_iter > 0:
            err_als = _tr_als(y, r, als_iter, seed)
            if err_als < err2:
                err2, bonds, note = err_als, (r,) * y.ndim, None
                met = err2 <= target
        out.append((err2, bonds, note))
    return out


def _tr_svd(y: np.ndarray, r: int, seed: int) -> tuple[float, tuple[int, ...], str | None]:
    """TensorLy's TR-SVD (``tensor_ring``) at ring rank ``r``; the first core's two bonds are lowered
    explicitly when they cannot fit its mode, and the bonds really used are read back."""
    from tensorly.decomposition import tensor_ring
    from tensorly.tr_tensor import tr_to_tensor

    room = min(y.shape[0], y.size // y.shape[0])
    left = min(r, max(1, room // r))
    right = min(r, max(1, room // left))
    tr = tensor_ring(y, rank=[left, right] + [r] * (y.ndim - 2) + [left], svd=gram_svd, random_state=seed)
    bonds = tuple(int(f.shape[0]) for f in tr.factors)  # the bond before each core
    note = None
    if min(bonds) < r:
        note = f"TR rank {r}: TensorLy's tensor_ring used bond ranks {bonds} (modes too small for {r})."
    return float(np.sum((y - tr_to_tensor(tr)) ** 2)), bonds, note


def _tr_als(y: np.ndarray, r: int, n_iter: int, seed: int) -> float:
    """Squared error of TensorLy's TR-ALS (``tensor_ring_als``) at ring rank ``r`` (inf if it fails)."""
    from tensorly.decomposition import tensor_ring_als
    from tensorly.tr_tensor import tr_to_tensor

    for solver in ("normal_eq", "lstsq"):  # normal equations are fast; least squares if singular
        try:
            tr = tensor_ring_als(y, rank=r, n_iter_max=n_iter, tol=1e-7, ls_solve=solver, random_state=seed)
        except np.linalg.LinAlgError:
            continue
        err = float(np.sum((y - tr_to_tensor(tr)) ** 2))
        return err if np.isfinite(err) else float("inf")
    return float("inf")
