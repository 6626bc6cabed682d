"""The library's version, and the versions a run records (its own module, so anything can import it)."""

from __future__ import annotations

__version__ = "0.2.0"


def library_versions() -> dict[str, str]:
    """Versions of the library and of what a result depends on, for run records."""
    import platform

    import numpy as np
    import safetensors
    import sklearn
    import torch

    return {
        "metalora": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "safetensors": safetensors.__version__,
        "scikit-learn": sklearn.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }
