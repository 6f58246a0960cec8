"""The Jena climate record (2009-2016): the full official CSV, or the 1,000-row mirror slice."""

from __future__ import annotations

import os

from labs_utils.datasets.fetching import DataNotAvailableError, Fetched, fetch_best

__all__ = ["JENA_FULL", "JENA_SUBSET", "fetch_jena_climate"]

JENA_FULL = "jena_climate_2009_2016.csv"
JENA_SUBSET = "jena_climate_2009_2016_rows419552-420551_official_layout.csv"


def fetch_jena_climate(quick: bool = False, data_dir: str | os.PathLike | None = None, **fetch_kw) -> Fetched:
    """Return the full Jena climate CSV fetched; quick mode falls back to the 1,000-row mirror slice.

    The slice comes back as ``mirror-subset``. Full mode without the full file raises
    ``DataNotAvailableError`` naming the file and how to get it.
    Introduced in c2w4_lab_weather_timeseries.
    """
    try:
        return fetch_best(
            "jena_climate", [JENA_FULL], [JENA_SUBSET], allow_subset=quick, data_dir=data_dir, **fetch_kw
        )
    except DataNotAvailableError as exc:
        if quick:
            raise
        hint = (
            f"\n\nFull mode needs the complete {JENA_FULL} (420,551 rows, 43 MB; see "
            "jena_climate/SOURCE.md for its official URLs). Quick mode (QUICK=True) runs on the "
            f"1,000-row slice {JENA_SUBSET} instead."
        )
        raise DataNotAvailableError(f"{exc}{hint}", exc.dataset, exc.file, exc.reasons) from exc
