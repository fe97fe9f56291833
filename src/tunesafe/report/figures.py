"""Figure writing shared by every arm: ``results/figures/<name>.{pdf,png}``, atomically."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from tunesafe.io import atomic_path  # noqa: E402


def save_figure(fig: plt.Figure, prefix: str | Path) -> None:
    """Write ``<prefix>.pdf`` and ``<prefix>.png`` atomically and close the figure."""
    prefix = Path(prefix)
    for ext in ("pdf", "png"):
        with atomic_path(prefix.with_suffix(f".{ext}")) as tmp:
            fig.savefig(tmp, format=ext, dpi=150)
    plt.close(fig)
