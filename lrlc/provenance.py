"""Where a number came from: the commit of the code and the device that ran it."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
from pathlib import Path

import torch

__all__ = ["git_commit", "device_name"]

ROOT = Path(__file__).resolve().parent.parent


def git_commit() -> str:
    """The checkout's commit, with ``-dirty`` when tracked files other than results differ
    from it (``results/`` and ``benchmarks/results/`` are what runs write, not code).

    The environment variable ``LRLC_COMMIT``, when set, wins: a copied working tree (the GPU
    machine's) may carry a ``.git`` of another commit, or none. An lrlc installed with pip
    (not from a checkout of the book) reports the commit pip recorded when it installed from
    git, never that of a git project its environment happens to sit in. Without any of
    these, "unknown".
    """
    if os.environ.get("LRLC_COMMIT"):
        return os.environ["LRLC_COMMIT"]
    if not _is_checkout(ROOT):
        return _installed_commit() or "unknown"

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


def _is_checkout(root: Path) -> bool:
    """Whether ``root`` is a checkout of the book (its ``pyproject.toml`` names lrlc), not
    the ``site-packages`` of an installed lrlc."""
    try:
        text = (root / "pyproject.toml").read_text()
    except OSError:
        return False
    return re.search(r'^name\s*=\s*"lrlc"', text, re.MULTILINE) is not None


def _installed_commit() -> str | None:
    """The commit pip recorded (``direct_url.json``) when it installed lrlc from git."""
    try:
        text = importlib.metadata.distribution("lrlc").read_text("direct_url.json")
        return json.loads(text or "")["vcs_info"]["commit_id"]
    except (importlib.metadata.PackageNotFoundError, KeyError, TypeError, ValueError):
        return None


def device_name(device: torch.device) -> str:
    """The GPU's name for CUDA devices (e.g. "NVIDIA H100 80GB HBM3"), else the type ("cpu")."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return device.type
