"""Execute chapters in place, top to bottom, and check what readers will see.

    python .ci/execute.py book/05_mnist.ipynb [book/06_cifar10.ipynb ...]

Runs each notebook with nbclient in ``book/`` (as Jupyter, nbval and Colab do), and then
refuses the result (leaving the file untouched) when a stored output holds an error, a
warning on stderr, an absolute path of this machine, an ipywidget, or a figure's text
(``<Figure size ...>``) instead of its image. Training progress
is stored as one printed line per epoch (``LRLC_PROGRESS=log``): a widget would need the
widget manager's JavaScript on the page, and a frozen bar says less than the log. The data
root comes from ``$LRLC_DATA`` as usual; set ``LRLC_QUICK=1`` for small subsets.

``--rejected DIR`` writes a notebook that failed or was refused to DIR (same name) as it
stood, for a machine whose files cannot be looked at afterwards (the GPU machine).
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

# Home, work and temporary folders of Linux, macOS (/Users/, /var/folders/), Colab
# (/content/) and Windows (C:\Users\ as printed, or with slashes or doubled backslashes)
MACHINE_PATH = re.compile(
    r"(/work/|/root/|/home/|/tmp/|/usr/|/opt/|/mnt/|/content/|/Users/|/var/folders/"
    r"|[A-Za-z]:[\\/]+Users\b)"
)
# a warning's category (UserWarning: ...), its source line, or a logged one (WARNING:root:)
WARNING = re.compile(r"Warning\b|warnings\.warn|^WARNING\b", re.MULTILINE)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
FIGURE_TEXT = re.compile(r"<Figure size \d+(\.\d+)?x\d+")  # a figure's repr, drawn nowhere


def problems(nb) -> list[str]:
    found = []
    for n, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            where = f"cell {n} ({cell.source.splitlines()[0][:50] if cell.source else ''!r})"
            if out.output_type == "error":
                found.append(f"{where}: error {out.ename}: {out.evalue}")
                continue
            texts = []
            if out.output_type == "stream":
                texts.append(out.text)
                if out.name == "stderr" and WARNING.search(out.text):
                    found.append(f"{where}: a warning on stderr: {out.text.strip()[:200]}")
            else:
                if WIDGET_VIEW in out.get("data", {}):
                    found.append(f"{where}: an ipywidget, which the static book cannot show")
                if set(out.get("data", {})) == {"text/plain"} and FIGURE_TEXT.match(
                    out.data["text/plain"]
                ):
                    found.append(f"{where}: a figure printed as text, not drawn (plt.close it)")
                for mime, value in out.get("data", {}).items():
                    if mime.startswith("text/") or mime.endswith("json"):
                        texts.append(value if isinstance(value, str) else str(value))
            for text in texts:
                match = MACHINE_PATH.search(text)
                if match:
                    start = max(match.start() - 40, 0)
                    found.append(
                        f"{where}: a path of this machine: ...{text[start : match.end() + 40]}"
                    )
    return found


def coalesce_streams(nb) -> None:
    """Merge consecutive outputs of one stream (stdout or stderr) of a cell into one, as a
    live notebook shows them: one block of training log instead of one per line."""
    for cell in nb.cells:
        merged = []
        for out in cell.get("outputs", []):
            last = merged[-1] if merged else None
            if (
                last is not None
                and out.output_type == last.output_type == "stream"
                and out.name == last.name
            ):
                last.text += out.text
            else:
                merged.append(out)
        if "outputs" in cell:
            cell.outputs = merged


def execute(path: Path, rejected: Path | None = None) -> bool:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(
        nb,
        timeout=3600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=False,
        record_timing=False,  # no per-cell timestamps: the stored notebooks diff cleanly
    )
    try:
        client.execute()
    except Exception as error:  # the cell error, as nbclient reports it
        print(f"{path}: FAILED\n{error}", file=sys.stderr)
        keep(nb, path, rejected)
        return False
    seconds = time.perf_counter() - start
    found = problems(nb)
    if found:
        print(f"{path}: not saved, {len(found)} problem(s):", file=sys.stderr)
        for line in found:
            print("  " + line, file=sys.stderr)
        keep(nb, path, rejected)
        return False
    nb.metadata.pop("widgets", None)
    coalesce_streams(nb)
    nbformat.write(nb, path)
    print(f"{path}: executed in {seconds:.0f} s, saved")
    return True


def keep(nb, path: Path, rejected: Path | None) -> None:
    """Write a failed or refused notebook to ``rejected`` (if given), never over ``path``."""
    if rejected is not None:
        rejected.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, rejected / path.name)


if __name__ == "__main__":
    os.environ.setdefault("LRLC_PROGRESS", "log")  # the kernel inherits it
    args = sys.argv[1:]
    rejected = None
    if args[:1] == ["--rejected"] and len(args) > 1:
        rejected, args = Path(args[1]), args[2:]
    paths = [Path(p) for p in args]
    if not paths:
        sys.exit(__doc__)
    sys.exit(0 if all([execute(p, rejected) for p in paths]) else 1)
