"""The Jena climate record (2009-2016): the full official CSV, or the 1,000-row mirror slice."""

from __future__ import annotations

import os

from labs_utils.datasets.fetching import DataNotAvailableError, Fetched, fetch_best

__all__ = ["JENA_FULL", "JENA_SUBSET", "fetch_jena_climate"]

JENA_FULL = "jena_climate_2009_2016.csv"
JENA_SUBSET = "jena_climate_2009_2016_rows419552-420551_official_layout.csv"


def fetch_jena_climate(quick: bool = False, data_dir: str | os.PathLike | None = None, **fetch_kw) -> Fetched:
    """Return the full Jena climate CSV fetched, else the real 1,000-row mirror slice.

    Both modes take the best data reachable: the slice (the last seven days of 2016, official
    layout) comes back as ``mirror-subset``. With ``LABS_REQUIRE_OFFICIAL_DATA=1`` the slice is
    refused and ``DataNotAvailableError`` names the full file and how to get it. ``quick`` only
    words that message: the lab itself decides how much of the file quick mode reads.
    Introduced in c2w4_lab_weather_timeseries.
    """
    try:
        return fetch_best("jena_climate", [JENA_FULL], [JENA_SUBSET], data_dir=data_dir, **fetch_kw)
    except DataNotAvailableError as exc:
        mode = "Quick" if quick else "Full"
        hint = (
            f"\n\n{mode} mode wants the complete {JENA_FULL} (420,551 rows, 43 MB; see "
            f"jena_climate/SOURCE.md for its official URLs) and otherwise the 1,000-row slice "
            f"{JENA_SUBSET}."
        )
        raise DataNotAvailableError(f"{exc}{hint}", exc.dataset, exc.file, exc.reasons) from exc
