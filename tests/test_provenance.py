"""lrlc.provenance: the commit and device recorded with every result."""

import re
import subprocess

import torch

from lrlc import provenance


def test_commit_of_this_checkout():
    commit = provenance.git_commit()
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", commit) or commit == "unknown", commit


def test_commit_without_git_comes_from_the_environment(monkeypatch):
    def no_git(*args, **kwargs):
        raise subprocess.CalledProcessError(128, "git")

    monkeypatch.setattr(provenance.subprocess, "run", no_git)
    monkeypatch.delenv("LRLC_COMMIT", raising=False)
    assert provenance.git_commit() == "unknown"
    monkeypatch.setenv("LRLC_COMMIT", "abc1234")
    assert provenance.git_commit() == "abc1234"


def test_device_name():
    assert provenance.device_name(torch.device("cpu")) == "cpu"
    assert provenance.device_name("cpu") == "cpu"
    if torch.cuda.is_available():
        assert provenance.device_name("cuda") == torch.cuda.get_device_name(0)
