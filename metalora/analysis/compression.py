"""Lossless compression of a tensor before decomposing it, and a fast truncated SVD for TensorLy.

:func:`compress` computes orthonormal bases U_k of each mode unfolding's column space (an exact HOSVD
truncated at numerical rank; De Lathauwer, De Moor & Vandewalle 2000) and the small core Y with
X = Y ×_k U_k. CP / Tucker / TR models of Y, mapped back by the U_k, are models of X with the same
ranks and the same error, and the best model of X lies in that subspace (projecting its factors never
increases the error): the classical compression before CP-ALS (Bro & Andersson 1998, CANDELINC).
Because the bases come from the Gram matrix's eigenvectors in decreasing order, Y is also the HOSVD
core of X, "all-orthogonal" with its energy packed in the leading entries.

:func:`gram_svd` is passed to TensorLy as its ``svd=`` function.
"""

from __future__ import annotations

import numpy as np

__all__ = ["compress", "gram_svd"]

_SV_RTOL = 1e-7  # singular values below this fraction of the largest are numerical zeros


def _unfold(x: np.ndarray, k: int) -> np.ndarray:
    return np.moveaxis(x, k, 0).reshape(x.shape[k], -1)


def _mode_basis(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Left singular vectors (d_k, r) at numerical rank and all singular values of unfolding k."""
    m = _unfold(x, k)  # (d_k, rest)
    if m.shape[0] <= m.shape[1]:
        lam, vec = np.linalg.eigh(m @ m.T)  # Gram of the short side: cheap for a wide unfolding
        lam, vec = lam[::-1], vec[:, ::-1]
        sv = np.sqrt(np.clip(lam, 0.0, None))
        keep = max(1, int(np.sum(sv > _SV_RTOL * max(sv[0], 1e-300))))
        return vec[:, :keep], sv
    u, sv, _ = np.linalg.svd(m, full_matrices=False)
    keep = max(1, int(np.sum(sv > _SV_RTOL * max(sv[0], 1e-300))))
    return u[:, :keep], sv


def compress(x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], float, list[np.ndarray]]:
    """Lossless HOSVD compression: ``(core, bases, residual², mode spectra)`` with X ≈ core ×_k U_k.

    ``residual²`` is the (numerically tiny) energy dropped by the truncation, added back into every error.
    """
    bases, spectra = [], []
    core = x
    for k in range(x.ndim):
        u, sv = _mode_basis(x, k)
        bases.append(u)
        spectra.append(sv)
    for k, u in enumerate(bases):
        core = np.moveaxis(np.tensordot(u.T, np.moveaxis(core, k, 0), axes=1), 0, k)
    residual = max(0.0, float(np.sum(x * x) - np.sum(core * core)))
    return core, bases, residual, spectra


def gram_svd(matrix, n_eigenvecs: int | None = None, **_kwargs):
    """Truncated SVD through the Gram matrix of the short side, passed to TensorLy as ``svd=``.

    TensorLy's default calls LAPACK's full SVD, which is slow for the very wide unfoldings met here
    (seconds for 64 × 36,864), and its ``symeig_svd`` forms the Gram of the *long* side. Here U·S·V is
    always the exact projection of ``matrix`` onto the kept left (or right) singular vectors.
    """
    m = np.asarray(matrix)
    d1, d2 = m.shape
    k = min(d1, d2) if n_eigenvecs is None else min(int(n_eigenvecs), d1, d2)
    if d1 <= d2:
        lam, u = np.linalg.eigh(m @ m.T)
        u, s = u[:, ::-1][:, :k], np.sqrt(np.clip(lam[::-1][:k], 0.0, None))
        return u, s, (u.T @ m) / np.maximum(s, 1e-300)[:, None]
    lam, v = np.linalg.eigh(m.T @ m)
    v, s = v[:, ::-1][:, :k], np.sqrt(np.clip(lam[::-1][:k], 0.0, None))
    return (m @ v) / np.maximum(s, 1e-300)[None, :], s, v.T
