"""lrlc.provenance: the commit and device recorded with every result."""

import re
import subprocess

import torch

from lrlc import provenance


def test_commit_of_this_checkout(monkeypatch):
    monkeypatch.delenv("LRLC_COMMIT", raising=False)
    commit = provenance.git_commit()  # the tests run in a git checkout (CI's is a clone)
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", commit), commit


def test_commit_without_git_comes_from_the_environment(monkeypatch):
    def no_git(*args, **kwargs):
        raise subprocess.CalledProcessError(128, "git")

    monkeypatch.setattr(provenance.subprocess, "run", no_git)
    monkeypatch.delenv("LRLC_COMMIT", raising=False)
    assert provenance.git_commit() == "unknown"
    monkeypatch.setenv("LRLC_COMMIT", "abc1234")
    assert provenance.git_commit() == "abc1234"


def test_an_empty_lrlc_commit_is_not_a_commit(monkeypatch):
    monkeypatch.setenv("LRLC_COMMIT", "")  # e.g. `LRLC_COMMIT=$(cat missing) python ...`
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", provenance.git_commit())


def test_only_a_pyproject_naming_lrlc_itself_makes_a_checkout(tmp_path):
    for name, checkout in [("lrlc", True), ("lrlc-fork", False), ("my-lrlc", False)]:
        (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "{name}"\n')
        assert provenance._is_checkout(tmp_path) is checkout, name


def test_the_environment_wins_over_a_git_repository(monkeypatch):
    """The GPU machine's copy of the tree carried a ``.git`` of the session's first commit:
    its reading named code that did not run, so the staged commit in LRLC_COMMIT wins."""
    monkeypatch.delenv("LRLC_COMMIT", raising=False)
    assert provenance.git_commit() != "abc1234"
    monkeypatch.setenv("LRLC_COMMIT", "abc1234")
    assert provenance.git_commit() == "abc1234"


def test_device_name(monkeypatch):
    assert provenance.device_name(torch.device("cpu")) == "cpu"
    assert provenance.device_name("cpu") == "cpu"
    assert provenance.device_name("cpu:0") == "cpu"  # the type, never an index
    asked = []
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda d: asked.append(d) or "NVIDIA H100")
    assert provenance.device_name("cuda") == "NVIDIA H100"
    assert provenance.device_name(torch.device("cuda", 1)) == "NVIDIA H100"
    assert provenance.device_name("mps") == "mps" and provenance.device_name("meta") == "meta"
    assert asked == [torch.device("cuda"), torch.device("cuda", 1)]  # CUDA's names only


def test_results_being_written_do_not_make_the_code_dirty(tmp_path, monkeypatch):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "results" / "cpu").mkdir(parents=True)
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    for name in ("results/cpu/mnist.json", "benchmarks/results/cpu.json", "code.py"):
        (tmp_path / name).write_text("0\n")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "lrlc"\n')  # the book's
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start")
    monkeypatch.setattr(provenance, "ROOT", tmp_path)
    monkeypatch.delenv("LRLC_COMMIT", raising=False)
    clean = provenance.git_commit()
    assert re.fullmatch(r"[0-9a-f]{40}", clean)
    (tmp_path / "results/cpu/mnist.json").write_text("1\n")  # a grid appending its runs
    (tmp_path / "benchmarks/results/cpu.json").write_text("1\n")
    assert provenance.git_commit() == clean
    (tmp_path / "notes.txt").write_text("draft\n")  # an untracked file is not the code
    assert provenance.git_commit() == clean
    (tmp_path / "code.py").write_text("1\n")  # an edit to the code is still reported
    assert provenance.git_commit() == clean + "-dirty"


def test_an_installed_lrlc_never_reports_the_commit_of_a_project_around_it(tmp_path, monkeypatch):
    """pip put lrlc in a virtual environment inside someone's own git project: that
    project's HEAD is not the code that ran; the commit pip installed from is."""
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "their-project"\n')
    subprocess.run(["git", "add", "."], cwd=tmp_path, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "theirs"],
        cwd=tmp_path,
        check=True,
    )
    site = tmp_path / "venv" / "site-packages"
    site.mkdir(parents=True)
    monkeypatch.setattr(provenance, "ROOT", site)
    monkeypatch.delenv("LRLC_COMMIT", raising=False)

    class Installed:
        def __init__(self, text):
            self.text = text

        def read_text(self, name):
            return self.text if name == "direct_url.json" else None

    from_git = '{"url": "https://github.com/x/y", "vcs_info": {"vcs": "git", "commit_id": "%s"}}'
    monkeypatch.setattr(
        provenance.importlib.metadata, "distribution", lambda name: Installed(from_git % ("a" * 40))
    )
    assert provenance.git_commit() == "a" * 40
    from_folder = '{"url": "file:///tmp/lrlc", "dir_info": {}}'  # pip install ./lrlc
    monkeypatch.setattr(
        provenance.importlib.metadata, "distribution", lambda name: Installed(from_folder)
    )
    assert provenance.git_commit() == "unknown"
    monkeypatch.setattr(provenance, "ROOT", tmp_path)  # their project is no checkout of lrlc
    assert provenance.git_commit() == "unknown"
