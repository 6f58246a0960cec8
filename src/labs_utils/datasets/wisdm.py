"""The WISDM v1.1 activity log: the raw 20 Hz file, or a deterministic synthetic stand-in.

The real log comes from the official tarball (extracted safely); when no copy is reachable, both
modes use a synthetic log in the exact raw format, labelled ``synthetic``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import numpy as np

from labs_utils.datasets.catalog import cache_dir
from labs_utils.datasets.fetching import DataNotAvailableError, Fetched, fetch, refuse_stand_in
from labs_utils.datasets.standins import official_data_required, record_use

__all__ = ["WISDM_HZ", "WISDM_RAW", "fetch_wisdm_raw", "write_synthetic_wisdm"]

WISDM_RAW = "WISDM_ar_v1.1/WISDM_ar_v1.1_raw.txt"
WISDM_HZ = 20  # readings per second


def fetch_wisdm_raw(quick: bool = False, data_dir: str | os.PathLike | None = None, **fetch_kw) -> Fetched:
    """Return the raw WISDM v1.1 log fetched (from the official tarball, extracted safely).

    When no real copy is reachable, both modes get a deterministic synthetic stand-in in the
    exact raw format, written into the cache (``wisdm/synthetic/``) and returned with
    ``data_source`` ``synthetic``. With ``LABS_REQUIRE_OFFICIAL_DATA=1`` the stand-in is refused
    and ``DataNotAvailableError`` names the file and how to get it. ``quick`` only words that
    message: the lab decides how much of the log quick mode reads.
    Introduced in c2w4_lab_accelerometer_signals.
    """
    try:
        return fetch("wisdm", [WISDM_RAW], data_dir=data_dir, **fetch_kw)
    except DataNotAvailableError as exc:
        if official_data_required():
            hint = (
                f"\n\n{'Quick' if quick else 'Full'} mode needs the raw 20 Hz log {WISDM_RAW} "
                "(1,098,207 lines) from the official tarball WISDM_ar_latest.tar.gz (see "
                "wisdm/SOURCE.md); the derived ARFF cannot replace it."
            )
            refused = refuse_stand_in(exc)
            raise DataNotAvailableError(f"{refused}{hint}", exc.dataset, exc.file, exc.reasons) from exc
    path = cache_dir(data_dir) / "wisdm" / "synthetic" / "WISDM_ar_v1.1_raw_synthetic.txt"
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    write_synthetic_wisdm(tmp)
    os.replace(tmp, path)  # readers never see a half-written log
    record_use("wisdm", [f"synthetic/{path.name}"], "synthetic", stand_in_for=[WISDM_RAW])
    return Fetched("wisdm", {WISDM_RAW: path}, "synthetic")


# Per activity: step frequency (Hz), swing amplitudes of x, y, z and the gravity vector the phone
# feels in the trouser pocket (m/s², 10 ≈ 1 g, like the raw file).
_ACTIVITY_SIGNALS = {
    "Walking": (1.9, (2.5, 4.5, 2.0), (1.0, 9.5, 1.0)),
    "Jogging": (2.7, (5.0, 8.0, 3.5), (-1.5, 8.0, 0.5)),
    "Upstairs": (1.5, (2.0, 3.0, 1.5), (0.5, 9.0, 2.0)),
    "Downstairs": (1.7, (3.0, 5.0, 2.0), (0.5, 9.5, 1.0)),
    "Sitting": (0.0, (0.0, 0.0, 0.0), (5.5, 1.5, 8.0)),
    "Standing": (0.0, (0.0, 0.0, 0.0), (0.3, 9.7, 1.2)),
}
# Share of each activity in the real raw log (WISDM_ar_v1.1_raw_about.txt).
_ACTIVITY_SHARES = {
    "Walking": 0.386,
    "Jogging": 0.312,
    "Upstairs": 0.112,
    "Downstairs": 0.091,
    "Sitting": 0.055,
    "Standing": 0.044,
}
# One malformed line of a real kind every so many readings, per kind.
_MALFORMED_EVERY = {"stray_comma": 170, "no_semicolon": 310, "missing_z": 420, "trailing_comma": 530}


def write_synthetic_wisdm(
    path: str | Path, *, users: int = 36, readings_per_user: int = 1500, seed: int = 0
) -> Path:
    """Return the path of a deterministic synthetic ``WISDM_ar_v1.1_raw.txt``, in its exact format.

    Each user records all six activities at 20 Hz in shuffled segments, sized roughly like the real
    log's class shares: periodic swings for the moving ones, gravity plus sensor noise for Sitting
    and Standing. Lines read
    ``user,activity,timestamp_ns,x,y,z;`` with malformed lines of the real file's kinds mixed in:
    a stray ``,;`` terminator or none (both still valid), a missing ``z`` before ``;``, a trailing
    comma, and empty lines. Same arguments, same bytes. Introduced in
    c2w4_lab_accelerometer_signals.
    """
    rng = np.random.default_rng(seed)
    step_ns = 1_000_000_000 // WISDM_HZ
    lines: list[str] = []
    serial = 0
    for user in range(1, users + 1):
        scale = rng.uniform(0.8, 1.2)
        tempo = rng.uniform(0.9, 1.1)
        clock = int(rng.integers(10**12, 5 * 10**13)) // step_ns * step_ns
        lengths = dict(zip(_ACTIVITY_SHARES, _segment_lengths(rng, readings_per_user), strict=True))
        for activity in rng.permutation(list(_ACTIVITY_SHARES)):
            n = lengths[activity]
            xyz = _activity_signal(rng, str(activity), n, scale, tempo)
            jitter = rng.integers(-2_000_000, 2_000_000, size=n)
            for i in range(n):
                stamp = clock + i * step_ns + int(jitter[i])
                values = [_java_float(v) for v in xyz[i]]
                lines.append(_raw_line(user, str(activity), stamp, values, serial))
                serial += 1
                if serial % 2003 == 0:
                    lines.append("")
            clock += n * step_ns + int(rng.integers(2, 30)) * 1_000_000_000
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def _segment_lengths(rng: np.random.Generator, total: int) -> list[int]:
    """Split ``total`` readings over the activities roughly as the real log does, each non-empty."""
    floor = total // (4 * len(_ACTIVITY_SHARES))
    weights = np.array(list(_ACTIVITY_SHARES.values())) * rng.uniform(0.8, 1.2, len(_ACTIVITY_SHARES))
    lengths = np.floor(weights / weights.sum() * (total - floor * len(weights))).astype(int) + floor
    lengths[0] += total - lengths.sum()
    return lengths.tolist()


def _activity_signal(
    rng: np.random.Generator, activity: str, n: int, scale: float, tempo: float
) -> np.ndarray:
    freq, swing, gravity = _ACTIVITY_SIGNALS[activity]
    t = np.arange(n) / WISDM_HZ
    phase = rng.uniform(0, 2 * np.pi, size=3)
    noise = 0.08 if freq == 0 else 0.4
    columns = []
    for axis in range(3):
        wave = swing[axis] * scale * np.sin(2 * np.pi * freq * tempo * (axis % 2 + 1) * t + phase[axis])
        columns.append(gravity[axis] + wave + rng.normal(0, noise, size=n))
    return np.clip(np.stack(columns, axis=1), -19.6, 19.6)


def _java_float(value: float) -> str:
    """Format like Java's ``Float.toString`` for this range: shortest float32 digits, ``.0`` kept."""
    return np.format_float_positional(np.float32(value), unique=True, trim="0")


def _raw_line(user: int, activity: str, stamp: int, values: list[str], serial: int) -> str:
    head = f"{user},{activity},{stamp}"
    if serial % _MALFORMED_EVERY["missing_z"] == 7:
        return f"{head},{values[0]},{values[1]},;"
    if serial % _MALFORMED_EVERY["trailing_comma"] == 11:
        return f"{head},{values[0]},{values[1]},"
    if serial % _MALFORMED_EVERY["stray_comma"] == 3:
        return f"{head},{values[0]},{values[1]},{values[2]},;"
    if serial % _MALFORMED_EVERY["no_semicolon"] == 5:
        return f"{head},{values[0]},{values[1]},{values[2]}"
    return f"{head},{values[0]},{values[1]},{values[2]};"
