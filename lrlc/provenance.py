"""Where a number came from: the commit of the code and the device that ran it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import torch

__all__ = ["git_commit", "device_name"]

ROOT = Path(__file__).resolve().parent.parent


def git_commit() -> str:
    """The checkout's commit, with ``-dirty`` when tracked files other than results differ
    from it (``results/`` and ``benchmarks/results/`` are what runs write, not code).

    The environment variable ``LRLC_COMMIT``, when set, wins: a copied working tree (the GPU
    machine's) may carry a ``.git`` of another commit, or none. Without either, "unknown".
    """
    if os.environ.get("LRLC_COMMIT"):
        return os.environ["LRLC_COMMIT"]

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git(
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            ".",
            ":(exclude)results",
            ":(exclude)benchmarks/results",
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def device_name(device: torch.device) -> str:
    """The GPU's name for CUDA devices (e.g. "NVIDIA H100 80GB HBM3"), else the type ("cpu")."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return device.type
