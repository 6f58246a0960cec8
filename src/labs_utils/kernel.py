"""The project's Jupyter kernel: its name, its start-up environment and its registration.

Every lab notebook names this kernel in its metadata, `make lab` and the headless runner start it,
so a lab sees the same interpreter and environment however it is opened. The environment silences
known-harmless start-up noise at its source, before Python starts: TensorFlow's C++ logging (CUDA
plugin probes, CPU feature notes) and the Python-version FutureWarnings of the Google client
libraries that Beam's GCP extra pulls in. Nothing else is filtered: a learner's own warnings show.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = [
    "DISPLAY_NAME",
    "KERNEL_ENV",
    "KERNEL_NAME",
    "WARNING_FILTERS",
    "install",
    "kernel_spec",
    "notebook_metadata",
]

KERNEL_NAME = "mlops-data-labs"
DISPLAY_NAME = "Python (mlops-data-labs)"

# (action, category, module) in the `-W` syntax; module is the exact module issuing the warning.
WARNING_FILTERS = (
    # "You are using a Python version (3.11) which Google will stop supporting ...", once per client
    ("ignore", "FutureWarning", "google.api_core._python_version_support"),
    # "grpcio < 1.83.0 does not support Post-Quantum Cryptography": grpcio is pinned by Beam
    ("ignore", "FutureWarning", "google.auth.transport.grpc"),
)

KERNEL_ENV = {
    "TZ": "UTC",
    "PYTHONHASHSEED": "0",
    # 3 = errors too: the "Unable to register cuFFT/cuDNN/cuBLAS factory" lines are logged as
    # errors by TensorFlow's C++ at import, on machines with or without a GPU.
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "PYTHONWARNINGS": ",".join(f"{act}::{category}:{module}" for act, category, module in WARNING_FILTERS),
}


def kernel_spec(python: str | None = None) -> dict:
    """Return the kernel.json content for the project kernel running `python` (default: this one)."""
    return {
        "argv": [python or sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": DISPLAY_NAME,
        "language": "python",
        "env": dict(KERNEL_ENV),
        "metadata": {"debugger": True},
    }


def notebook_metadata() -> dict:
    """Return the `kernelspec` metadata every lab notebook carries."""
    return {"display_name": DISPLAY_NAME, "language": "python", "name": KERNEL_NAME}


def install(prefix: str | Path | None = None) -> Path:
    """Register the kernel in `<prefix>/share/jupyter/kernels/`; return the kernel's folder.

    `prefix` defaults to this environment (like `ipykernel install --sys-prefix`). Idempotent: the
    file is rewritten only when its content changes.
    """
    folder = Path(prefix or sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME
    path = folder / "kernel.json"
    text = json.dumps(kernel_spec(), indent=1) + "\n"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


if __name__ == "__main__":
    print(f"registered kernel {KERNEL_NAME!r} in {install()}")
