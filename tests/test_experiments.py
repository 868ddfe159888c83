"""The experiment runner end to end on quick real data, and the misaligned-faces transform."""

import json

import pytest
import torch

from lrlc import count_parameters, experiments, results
from lrlc.datasets.cifar10 import JPEG_NOTE
from lrlc.experiments import Grid, Variant, parse_variants, run_grid, summarize
from lrlc.layers import LowRankLocallyConnected2d
from lrlc.misaligned import MisalignedLoader, place_in_noise
from lrlc.models import paper_network

REQUIRED_RUN_KEYS = {
    "layer", "rank", "where", "seed", "epochs", "lr", "weight_decay", "valid_accuracy",
    "test_accuracy", "params", "train_seconds", "images_per_second", "valid_curve",
    "train_loss_curve",
}  # fmt: skip


@pytest.fixture
def mnist_quick(monkeypatch, tmp_path):
    """Real MNIST in quick mode, where CI has it; a cache of the test's own."""
    import os

    if not os.environ.get("LRLC_DATA") and not os.environ.get("CI"):
        pytest.skip("LRLC_DATA is not set: no real data")
    monkeypatch.setenv("LRLC_CACHE", str(tmp_path / "cache"))
    return tmp_path


def test_grid_writes_the_documented_schema_and_resumes(mnist_quick, monkeypatch):
    out = mnist_quick / "mnist.json"
    grid = Grid(epochs=1, lrs=(0.1, 0.2), weight_decays=(0.0,), seeds=(0,), tune_rank=2)
    variants = [Variant("conv"), Variant("lrlc", 2, "last")]
    results = run_grid("mnist", variants, grid, out, torch.device("cpu"), quick=True,
                       progress=False)  # fmt: skip
    saved = json.loads(out.read_text())
    assert saved == json.loads(json.dumps(results))
    for key in ("dataset", "data", "device", "torch", "commit", "date", "config", "runs"):
        assert key in saved
    assert saved["data"]["is_subset"] is True and saved["data"]["train_size"] == 2000
    assert "Quick mode" in saved["data"]["note"]
    assert len(saved["tuning"]) == 4  # 2 families x 2 learning rates
    assert set(saved["chosen"]) == {"conv-all", "lrlc-last"}
    assert len(saved["runs"]) == 2
    for run in saved["runs"]:
        assert REQUIRED_RUN_KEYS <= set(run)
        assert 0.0 <= run["test_accuracy"] <= 1.0
        # each run names its device and versions: a grid resumed on another machine mixes them
        assert run["device"] == "cpu" and run["torch"] == torch.__version__
    assert saved["runs"][0]["rank"] is None and saved["runs"][1]["rank"] == 2

    # A second call with the same settings trains nothing and keeps the runs.
    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(experiments, "train_variant", no_training)
    again = run_grid("mnist", variants, grid, out, torch.device("cpu"), quick=True,
                     progress=False)  # fmt: skip
    assert again["runs"] == saved["runs"]
    rows = summarize(again)
    assert [r["layer"] for r in rows] == ["conv", "lrlc"] and rows[0]["seeds"] == 1


def test_format_table_keeps_its_columns_for_every_placement():
    rows = [
        {"layer": layer, "rank": rank, "where": where, "params": 311_306,
         "test_mean": 0.8457, "test_std": 0.0061, "seeds": 3}
        for layer, rank, where in [("conv", None, "all"), ("lrlc_input", 16, "first"),
                                   ("wide_conv", 16, "last")]
    ]  # fmt: skip
    lines = experiments.format_table(rows).splitlines()
    assert lines[2].startswith("lrlc_input rank 16 (first) ")
    assert len({len(line) for line in lines}) == 1  # the columns line up


def test_parse_variants():
    assert parse_variants("mnist", "conv,lrlc@last", (1, 4)) == [
        Variant("conv"), Variant("lrlc", 1, "last"), Variant("lrlc", 4, "last")
    ]  # fmt: skip
    default = parse_variants("cifar10", None, (1, 2))
    assert {v.layer for v in default} == {"conv", "coordconv", "lc", "wide_conv", "lrlc",
                                          "lrlc_input"}  # fmt: skip
    misaligned = parse_variants("trans_celeba48", None, (1, 2))
    assert misaligned == [
        Variant("conv"), Variant("coordconv"), Variant("wide_conv", 4), Variant("lrlc", 1),
        Variant("lrlc", 2), Variant("lrlc_input", 4),
    ]  # fmt: skip
    with pytest.raises(SystemExit, match="unknown layer 'lcc'"):
        parse_variants("mnist", "lcc", (1,))


def test_parse_variants_with_their_own_ranks():
    assert parse_variants("mnist", "lrlc_input:4,lrlc@last:2/8,conv", (1, 16)) == [
        Variant("lrlc_input", 4), Variant("lrlc", 2, "last"), Variant("lrlc", 8, "last"),
        Variant("conv"),
    ]  # fmt: skip
    with pytest.raises(SystemExit, match="conv has no rank"):
        parse_variants("mnist", "conv:4", (1,))
    assert parse_variants("mnist", "lrlc_input@first:4", (1,)) == [
        Variant("lrlc_input", 4, "first")
    ]
    with pytest.raises(SystemExit, match="unknown placement @mid .* @first or @middle"):
        parse_variants("mnist", "lrlc@mid", (1,))
    assert parse_variants("mnist", "lrlc@middle:4", (1,)) == [Variant("lrlc", 4, "middle")]
    assert parse_variants("mnist", "lc@last,wide_conv@first:4", (1,)) == [
        Variant("lc", None, "last"), Variant("wide_conv", 4, "first")
    ]  # fmt: skip
    with pytest.raises(SystemExit, match="coordconv is the same network .* drop '@last'"):
        parse_variants("mnist", "coordconv@last", (1,))


def test_attributes_only_for_celeba(tmp_path):
    with pytest.raises(ValueError, match="only CelebA has attributes"):
        run_grid("mnist", [Variant("conv")], Grid(epochs=1), tmp_path / "x.json",
                 torch.device("cpu"), task="attributes")  # fmt: skip
    with pytest.raises(ValueError, match="task must be one of"):
        run_grid("celeba", [Variant("conv")], Grid(epochs=1), tmp_path / "x.json",
                 torch.device("cpu"), task="smile")  # fmt: skip


def test_place_in_noise_keeps_each_face_whole_inside_the_canvas():
    faces = torch.rand(64, 3, 32, 32) * 0.5 + 2.0  # values the noise never takes
    canvas = place_in_noise(faces, 48, torch.Generator().manual_seed(0))
    assert canvas.shape == (64, 3, 48, 48)
    inside = canvas >= 2.0
    assert (inside.sum(dim=(1, 2, 3)) == 3 * 32 * 32).all()
    noise = canvas[~inside]
    assert noise.min() >= 0 and noise.max() < 1
    tops = [int(inside[i, 0].any(1).nonzero()[0]) for i in range(64)]
    lefts = [int(inside[i, 0].any(0).nonzero()[0]) for i in range(64)]
    assert min(tops + lefts) >= 1 and max(tops + lefts) <= 16
    assert len(set(zip(tops, lefts, strict=True))) > 32  # offsets vary between images
    for i in range(3):  # the face itself is unchanged
        t, left = tops[i], lefts[i]
        assert torch.equal(canvas[i, :, t : t + 32, left : left + 32], faces[i])


def test_misaligned_loader_fixed_serves_the_same_images_every_pass():
    batches = [(torch.rand(4, 3, 32, 32), torch.arange(4))]
    fixed = MisalignedLoader(batches, seed=1, fixed=True)
    first, second = list(fixed), list(fixed)
    assert len(fixed) == 1 and torch.equal(first[0][0], second[0][0])
    moving = MisalignedLoader(batches, seed=1)
    a, b = list(moving), list(moving)
    assert torch.equal(a[0][0], first[0][0]) and not torch.equal(a[0][0], b[0][0])
    with pytest.raises(ValueError, match="canvas"):
        place_in_noise(torch.rand(1, 3, 32, 32), 32)


def fake_data(monkeypatch) -> dict:
    """No data: the splits are placeholders and their record a made-up one."""
    splits = {"train": None, "valid": None, "test": None}
    record = {"source": "fake", "train_size": 8, "valid_size": 4, "test_size": 4,
              "is_subset": True, "note": ""}  # fmt: skip
    monkeypatch.setattr(experiments, "load_splits", lambda *a, **k: splits)
    monkeypatch.setattr(experiments, "data_record", lambda *a, **k: dict(record))
    return splits


def fake_record(variant, grid, lr, wd, seed, epochs) -> dict:
    """A made-up run record: its validation accuracy is its learning rate."""
    return {"layer": variant.layer, "rank": variant.rank, "where": variant.where,
            "seed": seed, "epochs": epochs or grid.epochs, "lr": lr, "weight_decay": wd,
            "valid_accuracy": lr, "test_accuracy": 0.5, "params": 1,
            "images_per_second": 1.0}  # fmt: skip


class FakeTraining:
    """Stands in for data loading and training: each run "takes" its variant's cost in
    seconds of a fake clock, and every call is logged as (what, variant key, seed)."""

    COSTS = {"conv": 5.0, "lrlc": 15.0}  # seconds per epoch

    def __init__(self, monkeypatch):
        self.now = 0.0
        self.calls = []
        fake_data(monkeypatch)
        monkeypatch.setattr(experiments, "train_variant", self.train_variant)
        monkeypatch.setattr(experiments.time, "perf_counter", lambda: self.now)

    def train_variant(self, variant, dataset, splits, grid, lr, wd, seed, device, epochs=None,
                      *rest):  # fmt: skip
        self.calls.append(("tune" if epochs else "run", variant.key(), seed))
        self.now += self.COSTS[variant.layer] * (epochs or grid.epochs)
        return fake_record(variant, grid, lr, wd, seed, epochs)


GRID = Grid(epochs=2, lrs=(0.1, 0.2), weight_decays=(0.0,), seeds=(0, 1), tune_rank=2)
VARIANTS = [Variant("conv"), Variant("lrlc", 1), Variant("lrlc", 2)]


def test_grid_order_gives_every_variant_one_seed_first(monkeypatch, tmp_path):
    fake = FakeTraining(monkeypatch)
    run_grid("mnist", VARIANTS, GRID, tmp_path / "g.json", torch.device("cpu"), tune_epochs=1)
    assert fake.calls == [
        ("tune", "conv-all", 0), ("tune", "conv-all", 0), ("run", "conv-all", 0),
        ("tune", "lrlc-r2-all", 0), ("tune", "lrlc-r2-all", 0),
        ("run", "lrlc-r1-all", 0), ("run", "lrlc-r2-all", 0),
        ("run", "conv-all", 1), ("run", "lrlc-r1-all", 1), ("run", "lrlc-r2-all", 1),
    ]  # fmt: skip


def test_time_limit_starts_no_run_that_would_not_end_in_time(monkeypatch, tmp_path, capsys):
    fake = FakeTraining(monkeypatch)
    out = tmp_path / "g.json"
    cpu = torch.device("cpu")
    # Per epoch conv takes 5 s, lrlc 15 s; tuning is 1 epoch, a run 2. Tuning conv ends at
    # 10 s, its run at 20, tuning lrlc (rank 2) at 50, rank 1's run (expected from rank 2's
    # tuning: 30 s) at 80; rank 2's would end at 110, and conv seed 1 fits (90).
    run_grid("mnist", VARIANTS, GRID, out, cpu, tune_epochs=1, time_limit=100)
    assert fake.calls == [
        ("tune", "conv-all", 0), ("tune", "conv-all", 0), ("run", "conv-all", 0),
        ("tune", "lrlc-r2-all", 0), ("tune", "lrlc-r2-all", 0), ("run", "lrlc-r1-all", 0),
        ("run", "conv-all", 1),
    ]  # fmt: skip
    assert "stopped for time after 90 s: 3 of 6 runs pending" in capsys.readouterr().out
    saved = json.loads(out.read_text())
    assert [r["wall_seconds"] for r in saved["runs"]] == [10.0, 30.0, 10.0]
    assert set(saved["chosen"]) == {"conv-all", "lrlc-all"}

    # The next call resumes: nothing is trained twice, and the rest fits in 200 s.
    fake.calls.clear()
    run_grid("mnist", VARIANTS, GRID, out, cpu, tune_epochs=1, time_limit=200,
             run_note="second call")  # fmt: skip
    assert [c[0] for c in fake.calls] == ["run"] * 3
    saved = json.loads(out.read_text())
    assert len(saved["runs"]) == 6 and len(saved["tuning"]) == 4
    assert [r.get("note") for r in saved["runs"]] == [None] * 3 + ["second call"] * 3
    assert "pending" not in capsys.readouterr().out


def test_a_call_with_other_layers_keeps_the_earlier_choices(monkeypatch, tmp_path):
    FakeTraining(monkeypatch)
    out, cpu = tmp_path / "g.json", torch.device("cpu")
    run_grid("mnist", VARIANTS, GRID, out, cpu, tune_epochs=1)
    first = json.loads(out.read_text())["chosen"]
    run_grid("mnist", [Variant("lrlc", 4, "last")], GRID, out, cpu, tune_epochs=1)
    saved = json.loads(out.read_text())
    assert set(saved["chosen"]) == {"conv-all", "lrlc-all", "lrlc-last"}
    assert {f: saved["chosen"][f] for f in first} == first
    assert len(saved["runs"]) == 3 * 2 + 2


def test_time_limit_lets_an_untimed_family_start_while_time_is_left(monkeypatch, tmp_path):
    fake = FakeTraining(monkeypatch)
    grid = Grid(epochs=2, lrs=(0.1,), weight_decays=(0.0,), seeds=(0,))
    run_grid("mnist", [Variant("lrlc", 4)], grid, tmp_path / "g.json", torch.device("cpu"),
             tune_epochs=1, time_limit=1)  # fmt: skip
    # Tuning was never timed, so it started with 1 s left; the run, expected to take
    # twice the 15 s of tuning, did not.
    assert fake.calls == [("tune", "lrlc-r4-all", 0)]


def test_a_results_file_of_other_settings_is_never_overwritten(monkeypatch, tmp_path):
    FakeTraining(monkeypatch)
    out = tmp_path / "g.json"
    run_grid("mnist", VARIANTS[:1], GRID, out, torch.device("cpu"), tune_epochs=1)
    before = out.read_text()
    longer = Grid(**{**GRID.__dict__, "epochs": 3})
    with pytest.raises(ValueError, match=r"other settings \(epochs\).*--out"):
        run_grid("mnist", VARIANTS[:1], longer, out, torch.device("cpu"), tune_epochs=1)
    assert out.read_text() == before
    with pytest.raises(SystemExit, match="error: .*other settings"):
        experiments.main(["mnist", "--layers", "conv", "--epochs", "3", "--lrs", "0.1,0.2",
                          "--weight-decays", "0", "--seeds", "0,1", "--tune-epochs", "1",
                          "--device", "cpu", "--out", str(out)])  # fmt: skip


def test_the_command_names_missing_data_without_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("LRLC_OFFLINE", "1")
    monkeypatch.setenv("LRLC_CACHE", str(tmp_path / "cache"))
    with pytest.raises(SystemExit, match=r"error: MNIST was not found under the data root"):
        experiments.main(["mnist", "--root", str(tmp_path / "empty"), "--device", "cpu",
                          "--out", str(tmp_path / "m.json")])  # fmt: skip
    assert not (tmp_path / "m.json").exists()


def test_every_command_line_option_says_what_it_does():
    """`python -m lrlc.experiments --help` is the first thing a user reads: every option has
    a help line, and those with per-dataset defaults print the grids' own values."""
    parser = experiments.build_parser()
    options = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    assert options and all(a.help for a in options), [a.dest for a in options if not a.help]
    text = parser.format_help()
    for name, grid in experiments.GRIDS.items():
        assert f"{name} {grid.epochs}" in " ".join(text.split())


@pytest.mark.parametrize("how", ["--quick", "LRLC_QUICK=1"])
def test_a_quick_run_never_writes_the_reference_file(monkeypatch, tmp_path, how):
    """The chapters read results/<dataset>.json as the reference grid: a smoke run without
    --out goes to results/quick/ instead."""
    FakeTraining(monkeypatch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LRLC_QUICK", raising=False)
    flags = ["--quick"] if how == "--quick" else []
    if how != "--quick":
        monkeypatch.setenv("LRLC_QUICK", "1")
    experiments.main(["mnist", *flags, "--layers", "conv", "--epochs", "1", "--lrs", "0.1",
                      "--weight-decays", "0", "--seeds", "0", "--no-tune",
                      "--device", "cpu"])  # fmt: skip
    assert (tmp_path / "results" / "quick" / "mnist.json").exists()
    assert not (tmp_path / "results" / "mnist.json").exists()


def test_a_results_file_is_resumed_only_with_the_same_copy_of_the_data():
    """Official CIFAR-10 pickles and the JPEG copy have the same split sizes: a grid begun
    on one must not take runs on the other. Another spelling of the root is the same data."""
    jpeg = {"source": "images: $LRLC_DATA/cifar10-jpeg.tar.gz", "train_size": 45000,
            "valid_size": 5000, "test_size": 10000, "is_subset": False,
            "note": f"test: {JPEG_NOTE[0].upper()}{JPEG_NOTE[1:]}."}  # fmt: skip
    official = {**jpeg, "source": "pickle: $LRLC_DATA/cifar-10-batches-py", "note": ""}
    assert experiments._same_data(jpeg, {**jpeg, "source": "images: /elsewhere/c.tar.gz"})
    assert not experiments._same_data(jpeg, official)
    assert not experiments._same_data(jpeg, {**jpeg, "note": ""})  # a lossless image tree
    # the layout alone: pickles order the splits otherwise, even with the same note
    assert not experiments._same_data(jpeg, {**jpeg, "source": "pickle: $LRLC_DATA/c"})
    # CelebA's folder and zip hold the same JPEGs: one copy of the data
    folder = {**jpeg, "source": "folder: $LRLC_DATA/celeba/img_align_celeba", "note": ""}
    assert experiments._same_data(folder, {**folder, "source": "zip: $LRLC_DATA/celeba/a.zip"})
    for key, value in [("train_size", 2000), ("valid_size", 500), ("test_size", 1000),
                       ("is_subset", True)]:  # fmt: skip
        assert not experiments._same_data(jpeg, {**jpeg, key: value}), key
    assert not experiments._same_data(None, jpeg)


def grids_trained(monkeypatch) -> list[Grid]:
    """Fake training (:class:`FakeTraining`) that also lists the ``Grid`` of every run."""
    fake = FakeTraining(monkeypatch)
    grids = []

    def recording(variant, dataset, splits, grid, *rest):
        grids.append(grid)
        return fake.train_variant(variant, dataset, splits, grid, *rest)

    monkeypatch.setattr(experiments, "train_variant", recording)
    return grids


def test_combining_lr_scale_reaches_training_and_the_file(monkeypatch, tmp_path):
    grids = grids_trained(monkeypatch)
    out = tmp_path / "g.json"
    experiments.main(["mnist", "--layers", "lrlc:2", "--epochs", "2", "--lrs", "0.1",
                      "--weight-decays", "0", "--seeds", "0", "--no-tune", "--device", "cpu",
                      "--combining-lr-scale", "10", "--out", str(out)])  # fmt: skip
    assert [g.combining_lr_scale for g in grids] == [10.0]
    assert json.loads(out.read_text())["config"]["combining_lr_scale"] == 10.0
    # the same file at the plain rate is another setting, not a resumption
    with pytest.raises(SystemExit, match=r"other settings \(combining_lr_scale\)"):
        experiments.main(["mnist", "--layers", "lrlc:2", "--epochs", "2", "--lrs", "0.1",
                          "--weight-decays", "0", "--seeds", "0", "--no-tune",
                          "--device", "cpu", "--out", str(out)])  # fmt: skip
    # at the plain rate the key is not written: files made before the option resume
    plain = tmp_path / "plain.json"
    run_grid("mnist", VARIANTS[:1], GRID, plain, torch.device("cpu"), tune_epochs=1)
    assert "combining_lr_scale" not in json.loads(plain.read_text())["config"]
    frozen = experiments.grid_of(
        experiments.build_parser().parse_args(["mnist", "--combining-lr-scale", "0"])
    )
    assert frozen.combining_lr_scale == 0.0  # 0 is a setting, not "not given"


def test_per_position_logits_reach_the_networks_and_the_file(monkeypatch, tmp_path):
    grids = grids_trained(monkeypatch)
    out = tmp_path / "g.json"
    experiments.main(["mnist", "--layers", "lrlc:2", "--epochs", "2", "--lrs", "0.1",
                      "--weight-decays", "0", "--seeds", "0", "--no-tune", "--device", "cpu",
                      "--per-position-logits", "--out", str(out)])  # fmt: skip
    assert [g.per_position_logits for g in grids] == [True]
    config = json.loads(out.read_text())["config"]
    assert config["combining_logits"] == experiments.PER_POSITION_LOGITS
    with pytest.raises(SystemExit, match=r"other settings \(combining_logits\)"):
        experiments.main(["mnist", "--layers", "lrlc:2", "--epochs", "2", "--lrs", "0.1",
                          "--weight-decays", "0", "--seeds", "0", "--no-tune",
                          "--device", "cpu", "--out", str(out)])  # fmt: skip
    plain = tmp_path / "plain.json"  # shared logits: no key, so older files resume
    run_grid("mnist", VARIANTS[:1], GRID, plain, torch.device("cpu"), tune_epochs=1)
    assert "combining_logits" not in json.loads(plain.read_text())["config"]


def test_a_per_position_grid_trains_and_draws_its_own_logits(mnist_quick):
    out = mnist_quick / "pp.json"
    grid = Grid(epochs=1, lrs=(0.1,), weight_decays=(0.0,), seeds=(0,), per_position_logits=True)
    run_grid("mnist", [Variant("lrlc", 2, "last")], grid, out, torch.device("cpu"), quick=True,
             tune=False, progress=False)  # fmt: skip
    (run,) = json.loads(out.read_text())["runs"]
    assert run["params"] == count_parameters(
        paper_network("lrlc", 2, "mnist", "last", share_combining_weights=False)
    )
    logits = torch.tensor(run["combining_logits"]["features.6"]["logits"])
    assert logits.shape == (22, 22, 2)
    grid_file = results.load("mnist", path=out)
    torch.testing.assert_close(
        grid_file.combining_weights(2, "features.6", where="last"), torch.softmax(logits, -1)
    )
    assert grid_file.learned_logits(2, "features.6", where="last") is None  # not row + column


def test_a_run_records_the_logits_it_learned_in_either_form():
    torch.manual_seed(0)
    for shared in (True, False):
        net = paper_network("lrlc", 3, "mnist", share_combining_weights=shared)
        layers = [m for m in net.features if isinstance(m, LowRankLocallyConnected2d)]
        assert all(m.share_combining_weights is shared for m in layers)
        maps = experiments.learned_combining_logits(net)
        assert list(maps) == ["features.0", "features.3", "features.6"]
        last = layers[-1]
        if shared:
            assert torch.tensor(maps["features.6"]["row"]).shape == (22, 3)
        else:  # one logit per position: (H_out, W_out, rank), the layer's own values
            logits = torch.tensor(maps["features.6"]["logits"], dtype=torch.float64)
            assert logits.shape == (22, 22, 3)
            torch.testing.assert_close(logits, last.combining_logits.double(), atol=5e-5, rtol=0)
    # input-dependent layers predict their logits: nothing to record, in either setting
    dependent = paper_network("lrlc_input", 2, "mnist", share_combining_weights=False)
    assert experiments.learned_combining_logits(dependent) == {}


class ThreadWorkers:
    """Stands in for the worker processes of ``workers=N``: threads running a fake training
    that takes real (short) time, logging when each job starts and ends."""

    def __init__(self, monkeypatch, seconds=0.05):
        import threading
        from concurrent.futures import ThreadPoolExecutor

        self.lock = threading.Lock()
        self.events = []  # ("start" | "end", kind, variant key, seed)
        self.active = self.most_active = self.started = 0
        self.seconds = seconds
        # the first three jobs wait here for each other: they run at once, or time out
        self.first_three = threading.Barrier(3, timeout=10)
        splits = fake_data(monkeypatch)
        monkeypatch.setattr(experiments, "train_variant", self.train_variant)

        class Threads:  # experiments._Processes' interface, with threads
            def __init__(self, context, workers, load_args):
                self.context, self.pool = context, ThreadPoolExecutor(workers)

            def submit(self, *job):
                return self.pool.submit(experiments._train, self.context, splits, *job)

        monkeypatch.setattr(experiments, "_Processes", Threads)

    def train_variant(self, variant, dataset, splits, grid, lr, wd, seed, device, epochs=None,
                      *rest):  # fmt: skip
        import time

        kind = "tune" if epochs else "run"
        with self.lock:
            self.events.append(("start", kind, variant.key(), seed))
            self.active += 1
            self.most_active = max(self.most_active, self.active)
            self.started += 1
            meet = self.started <= 3
        if meet:
            self.first_three.wait()
        time.sleep(self.seconds)
        with self.lock:
            self.active -= 1
            self.events.append(("end", kind, variant.key(), seed))
        if variant.layer == "lc":
            raise RuntimeError("out of memory (a made-up failure)")
        return fake_record(variant, grid, lr, wd, seed, epochs)


def test_workers_train_several_runs_at_once_and_each_after_its_family_is_tuned(
    monkeypatch, tmp_path
):
    fake = ThreadWorkers(monkeypatch)
    out = tmp_path / "g.json"
    run_grid("mnist", VARIANTS, GRID, out, torch.device("cpu"), tune_epochs=1, workers=3)
    assert fake.most_active == 3
    saved = json.loads(out.read_text())
    assert len(saved["tuning"]) == 4 and len(saved["runs"]) == 6
    assert {(r["layer"], r["rank"], r["seed"]) for r in saved["runs"]} == {
        (layer, rank, seed) for layer, rank in (("conv", None), ("lrlc", 1), ("lrlc", 2))
        for seed in (0, 1)
    }  # fmt: skip
    # every run starts after the last tuning run of its family has ended, at the lr it chose
    for i, (what, kind, key, _) in enumerate(fake.events):
        if what == "start" and kind == "run":
            family_probe = "conv-all" if key == "conv-all" else "lrlc-r2-all"
            ended = [e for e in fake.events[:i] if e[:3] == ("end", "tune", family_probe)]
            assert len(ended) == 2, (key, fake.events[:i])
    assert {r["lr"] for r in saved["runs"]} == {0.2}  # the fake's valid accuracy is its lr
    assert all("beside up to 2 other runs of this grid" in r["note"] for r in saved["runs"])

    # A failing run (LC's, here) does not lose the others' work: the runs still going
    # when it fails finish and are written, and then its error is raised; the next call
    # retries only what is missing.
    fake.events.clear()
    out = tmp_path / "with-lc.json"
    with pytest.raises(RuntimeError, match="made-up failure"):
        run_grid("mnist", [Variant("conv"), Variant("lc")], GRID, out, torch.device("cpu"),
                 tune_epochs=1, workers=2)  # fmt: skip
    assert ("start", "run", "lc-all", 0) not in fake.events  # its family was never tuned
    starts = [e[1:] for e in fake.events if e[0] == "start"]
    assert sorted(starts) == sorted(e[1:] for e in fake.events if e[0] == "end")
    saved = json.loads(out.read_text())
    finished = [e[1:] for e in fake.events if e[0] == "end" and e[2] == "conv-all"]
    assert len(saved["tuning"]) == sum(kind == "tune" for kind, *_ in finished) == 2
    assert len(saved["runs"]) == sum(kind == "run" for kind, *_ in finished)


def test_workers_must_be_positive(monkeypatch, tmp_path):
    ThreadWorkers(monkeypatch)
    with pytest.raises(ValueError, match="workers must be >= 1"):
        run_grid("mnist", VARIANTS, GRID, tmp_path / "g.json", torch.device("cpu"), workers=0)


def test_worker_processes_train_the_same_runs_as_one_process(mnist_quick):
    """Real worker processes (``--workers 2``) on quick MNIST: every run is seeded on its
    own, so each comes out as in a single process with the same number of threads."""
    args = ["mnist", "--quick", "--device", "cpu", "--layers", "conv,lrlc@last:2",
            "--epochs", "1", "--lrs", "0.1", "--weight-decays", "0", "--seeds", "0",
            "--no-tune", "--no-progress", "--train-size", "256", "--batch-size", "64",
            "--valid-size", "200"]  # fmt: skip
    threads = torch.get_num_threads()
    workers_threads = max(1, min(threads, (__import__("os").cpu_count() or 1) // 2))
    torch.set_num_threads(workers_threads)  # as each of two workers has
    try:
        one = experiments.main([*args, "--out", str(mnist_quick / "one.json")])
    finally:
        torch.set_num_threads(threads)
    two = experiments.main([*args, "--workers", "2", "--out", str(mnist_quick / "two.json")])

    def accuracies(results):
        return sorted((r["layer"], r["seed"], r["train_loss_curve"], r["valid_accuracy"],
                       r["test_accuracy"]) for r in results["runs"])  # fmt: skip

    assert len(two["runs"]) == 2
    assert accuracies(two) == accuracies(one)


def test_chosen_from_trains_at_another_grids_choices_without_tuning(monkeypatch, tmp_path):
    """The faster-logits grid must train LRLC at the lr and weight decay the plain grid
    picked, so that only the logits' rate differs: --chosen-from takes them from its file."""
    fake = FakeTraining(monkeypatch)
    monkeypatch.chdir(tmp_path)
    plain = tmp_path / "results" / "mnist.json"
    run_grid("mnist", VARIANTS, GRID, plain, torch.device("cpu"), tune_epochs=1)
    picked = json.loads(plain.read_text())["chosen"]
    assert picked["lrlc-all"] == {"lr": 0.2, "weight_decay": 0.0}  # the fake's best
    fake.calls.clear()
    faster = tmp_path / "faster.json"
    scaled = Grid(**{**GRID.__dict__, "combining_lr_scale": 100.0})
    lrlc = [Variant("lrlc", 2)]
    run_grid("mnist", lrlc, scaled, faster, torch.device("cpu"), chosen_from=plain)
    assert fake.calls == [("run", "lrlc-r2-all", 0), ("run", "lrlc-r2-all", 1)]  # no tuning
    saved = json.loads(faster.read_text())
    assert {(r["lr"], r["weight_decay"]) for r in saved["runs"]} == {(0.2, 0.0)}
    assert saved["chosen_from"] == "results/mnist.json"  # relative: no paths of this machine
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere" / "mnist.json"
    elsewhere.parent.mkdir()
    elsewhere.write_text(plain.read_text())
    run_grid("mnist", lrlc, scaled, tmp_path / "f2.json", torch.device("cpu"),
             chosen_from=elsewhere)  # fmt: skip
    assert json.loads((tmp_path / "f2.json").read_text())["chosen_from"] == "mnist.json"
    fake.calls.clear()
    assert saved["config"]["lrs"] == [0.2] and saved["tuning"] == []
    text = results.Results("mnist", saved, "faster.json").provenance()
    assert "learning rate 0.2 and weight decay 0 as picked on the validation split by " \
        "`results/mnist.json`" in text  # fmt: skip

    # a family the file has not chosen for, or a file of another dataset: said, not run
    with pytest.raises(ValueError, match=r"chosen no lr and weight decay for lrlc-last yet"):
        run_grid("mnist", [Variant("lrlc", 2, "last")], scaled, tmp_path / "x.json",
                 torch.device("cpu"), chosen_from=plain)  # fmt: skip
    with pytest.raises(SystemExit, match=r"error: --chosen-from .* holds a grid of 'mnist', "
                       r"not 'cifar10'"):  # fmt: skip
        experiments.main(["cifar10", "--layers", "lrlc:2", "--device", "cpu", "--chosen-from",
                          str(plain), "--out", str(tmp_path / "c.json")])  # fmt: skip
    assert fake.calls == []


def test_compile_takes_a_mode_or_none(monkeypatch, tmp_path):
    parser = experiments.build_parser()
    assert parser.parse_args(["mnist"]).compile is False
    assert parser.parse_args(["mnist", "--compile"]).compile is True
    assert parser.parse_args(["mnist", "--compile", "reduce-overhead"]).compile == "reduce-overhead"
    with pytest.raises(SystemExit, match=r"error: --compile takes one of default, reduce-overhead"):
        experiments.main(["mnist", "--compile", "fastest", "--out", str(tmp_path / "x.json")])


class TinySplit:
    """A split of random images whose ``loader`` builds a real :class:`DeviceLoader`."""

    def __init__(self, n: int = 8, size: int = 28) -> None:
        self.images = torch.randint(0, 256, (n, 1, size, size), dtype=torch.uint8)
        self.labels = torch.arange(n) % 10

    def loader(self, batch_size, *, targets="labels", **kwargs):
        from lrlc.loader import DeviceLoader, Normalization

        return DeviceLoader(self.images, self.labels, batch_size, Normalization(2 / 255, -1),
                            **kwargs)  # fmt: skip


def test_augment_reaches_the_training_loader_only(monkeypatch, tmp_path):
    from lrlc.loader import Augment
    from lrlc.train import History

    seen = {}

    def fake_fit(model, train, valid=None, epochs=1, **kwargs):
        seen.update(train=train.augment, valid=valid.augment)
        return History([1.0], [0.1], [0.1], [None], [1.0], [8.0])

    monkeypatch.setattr(experiments, "fit", fake_fit)
    splits = {name: TinySplit() for name in ("train", "valid", "test")}
    grid = Grid(epochs=1, batch_size=4, augment="standard")
    experiments.train_variant(Variant("conv"), "mnist", splits, grid, 0.1, 0.0, 0,
                              torch.device("cpu"), progress=False)  # fmt: skip
    assert seen == {"train": Augment(hflip=False), "valid": None}  # no flipped digits
    experiments.train_variant(Variant("conv"), "mnist", splits, Grid(epochs=1, batch_size=4),
                              0.1, 0.0, 0, torch.device("cpu"), progress=False)  # fmt: skip
    assert seen == {"train": None, "valid": None}
    for augment, expected in [("standard", Augment(4, True)), ("crop", Augment(4, False)),
                              ("flip", Augment(0, True))]:  # fmt: skip
        cifar = experiments.make_loader("cifar10", TinySplit(), 4, "cpu", True, 0, augment=augment)
        assert cifar.augment == expected, augment
    assert experiments.training_augment("mnist", "crop") == Augment(4, False)
    with pytest.raises(ValueError, match="mnist is never flipped.*use --augment crop"):
        experiments.training_augment("mnist", "flip")
    assert experiments.training_augment("celeba", "crop", 2) == Augment(2, False)
    assert experiments.training_augment("celeba", "standard", 1) == Augment(1, True)
    assert experiments.augmentation("celeba", "crop", 2) == (
        "random crop after zero padding of 2 pixels, training only"
    )
    for augment in ("", "flip"):
        with pytest.raises(ValueError, match="--crop-padding .* makes no crops: add --augment"):
            experiments.training_augment("celeba", augment, 2)
    with pytest.raises(ValueError, match="at least 1 pixel, got 0"):
        experiments.training_augment("celeba", "crop", 0)
    padded = experiments.make_loader("celeba", TinySplit(), 4, "cpu", True, 0, augment="crop",
                                     crop_padding=2)  # fmt: skip
    assert padded.augment == Augment(2, False)


def test_augment_is_recorded_and_is_a_setting_of_its_own(monkeypatch, tmp_path):
    grids = grids_trained(monkeypatch)
    out = tmp_path / "g.json"
    args = ["--layers", "conv", "--epochs", "2", "--lrs", "0.1", "--weight-decays", "0",
            "--seeds", "0", "--no-tune", "--device", "cpu", "--out", str(out)]  # fmt: skip
    experiments.main(["celeba", "--augment", *args])
    assert [g.augment for g in grids] == ["standard"]
    recorded = json.loads(out.read_text())["config"]["augmentation"]
    assert recorded == (
        "random crop after zero padding of 4 pixels and a random horizontal flip, training only"
    )
    with pytest.raises(SystemExit, match=r"other settings \(augmentation\)"):
        experiments.main(["celeba", *args])  # the file's runs were augmented: not resumable
    with pytest.raises(SystemExit, match=r"other settings \(augmentation\)"):
        experiments.main(["celeba", "--augment", "--crop-padding", "2", *args])  # smaller crops
    small = tmp_path / "small.json"
    experiments.main(["celeba", "--augment", "crop", "--crop-padding", "2", *args[:-1], str(small)])
    assert (grids[-1].augment, grids[-1].crop_padding) == ("crop", 2)
    assert json.loads(small.read_text())["config"]["augmentation"] == (
        "random crop after zero padding of 2 pixels, training only"
    )
    plain = tmp_path / "plain.json"
    run_grid("mnist", VARIANTS[:1], GRID, plain, torch.device("cpu"), tune_epochs=1)
    assert json.loads(plain.read_text())["config"]["augmentation"] == "none (as the paper)"
    # the misaligned faces move every face already: augmenting them is refused, by name
    with pytest.raises(SystemExit, match="trans_celeba48 moves every face.*drop --augment"):
        experiments.main(["trans_celeba48", "--augment", *args[:-1], str(tmp_path / "t.json")])


def test_augment_one_part_is_recorded_and_is_a_setting_of_its_own(monkeypatch, tmp_path):
    grids = grids_trained(monkeypatch)
    args = ["--layers", "conv", "--epochs", "2", "--lrs", "0.1", "--weight-decays", "0",
            "--seeds", "0", "--no-tune", "--device", "cpu"]  # fmt: skip
    recorded = {}
    for part in experiments.AUGMENT_PARTS:
        out = tmp_path / f"{part}.json"
        experiments.main(["celeba", "--augment", part, *args, "--out", str(out)])
        recorded[part] = json.loads(out.read_text())["config"]["augmentation"]
    assert [g.augment for g in grids] == ["crop", "flip"]
    assert recorded == {
        "crop": "random crop after zero padding of 4 pixels, training only",
        "flip": "random horizontal flip, training only",
    }
    with pytest.raises(SystemExit, match=r"other settings \(augmentation\)"):
        experiments.main(["celeba", "--augment", *args, "--out", str(tmp_path / "crop.json")])
    with pytest.raises(SystemExit, match="mnist is never flipped"):
        experiments.main(["mnist", "--augment", "flip", *args, "--out", str(tmp_path / "m.json")])
    with pytest.raises(SystemExit):  # argparse: not a part of the augmentation
        experiments.main(["celeba", "--augment", "rotate", *args])


def test_a_worker_exits_once_its_parent_is_gone(monkeypatch):
    parents = iter([100, 100, 1])  # then reparented: the grid's process is gone
    naps = []
    monkeypatch.setattr(experiments.os, "getppid", lambda: next(parents))
    monkeypatch.setattr(experiments.time, "sleep", naps.append)

    def exit_(code: int) -> None:
        raise SystemExit(code)

    monkeypatch.setattr(experiments.os, "_exit", exit_)
    with pytest.raises(SystemExit) as exited:
        experiments._exit_with_parent(100, every=0.5)
    assert exited.value.code == 1 and naps == [0.5, 0.5]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--layers", "lrlc:abc"], r"error: --layers lrlc:abc: the ranks after ':' are integers"),
        (["--layers", "lrlc:0"], r"error: lrlc at rank 0: ranks are integers >= 1"),
        (["--layers", "lrlc", "--ranks", "0,2"], r"error: lrlc at rank 0"),
        (["--layers", "conv", "--device", "gpu"], r"error: unknown device 'gpu': use 'cuda'"),
    ],
)
def test_bad_layers_ranks_and_devices_stop_before_any_run(monkeypatch, tmp_path, args, message):
    fake = FakeTraining(monkeypatch)
    with pytest.raises(SystemExit, match=message):
        experiments.main(["mnist", *args, "--out", str(tmp_path / "g.json")])
    assert not fake.calls and not (tmp_path / "g.json").exists()


def test_a_folder_as_out_and_malformed_lists_say_what_to_give(tmp_path, capsys):
    with pytest.raises(SystemExit, match=r"error: --out .* is a folder: give a file"):
        experiments.main(["mnist", "--layers", "conv", "--out", str(tmp_path)])
    for option, value in [("--seeds", "0,x"), ("--seeds", ""), ("--lrs", "")]:
        with pytest.raises(SystemExit):
            experiments.build_parser().parse_args(["mnist", option, value])
        kind = "integers, e.g. 0,1,2" if option == "--seeds" else "numbers, e.g. 0.05,0.1"
        assert f"{option}: takes comma-separated {kind}" in capsys.readouterr().err


def test_a_run_records_each_number_from_its_own_split_and_epoch(monkeypatch):
    """The test accuracy from the test split, the validation curve and accuracy from the
    history's validation, the loss curve from its training loss: a training run replaced
    by a known history and an evaluation that reports which split it scored."""
    from lrlc.train import History

    # the validation accuracy falls in the last epoch: the run's is the last, not the best
    history = History([1.5, 1.0], [0.3, 0.4], [0.7, 0.6], [None, None], [1.0, 2.0], [8.0, 16.0])
    monkeypatch.setattr(experiments, "fit", lambda model, train, **kwargs: history)
    monkeypatch.setattr(
        experiments,
        "evaluate",
        lambda model, loader, *a, **k: {"accuracy": loader.num_samples / 100},
    )
    splits = {"train": TinySplit(16), "valid": TinySplit(4), "test": TinySplit(8)}
    grid = Grid(epochs=2, batch_size=4)
    record = experiments.train_variant(
        Variant("conv"), "mnist", splits, grid, 0.1, 0.0, 0, torch.device("cpu"), progress=False
    )
    assert record["test_accuracy"] == 0.08  # 8 images: the test split
    assert record["valid_curve"] == [0.7, 0.6] and record["valid_accuracy"] == 0.6
    assert record["train_seconds"] == 3.0  # the sum over epochs
    assert record["images_per_second"] == 12.0  # the median over epochs
    assert record["train_loss_curve"] == [1.5, 1.0] and record["where"] == "all"


class NamedSplit:
    """What :func:`experiments.data_record` reads of a split: its length and descriptions."""

    def __init__(self, n: int, is_subset: bool = False, note: str = "") -> None:
        self.n, self.is_subset, self.note = n, is_subset, note
        self.source, self.path = "idx", "/data/MNIST/raw"

    def __len__(self) -> int:
        return self.n


def test_data_record_takes_each_size_from_its_split_and_a_subset_from_any(tmp_path):
    splits = {"train": NamedSplit(8), "valid": NamedSplit(4), "test": NamedSplit(6, True, "n")}
    record = experiments.data_record(splits, root=tmp_path)
    assert (record["train_size"], record["valid_size"], record["test_size"]) == (8, 4, 6)
    assert record["is_subset"] is True  # only the test split is a subset: still a subset
    assert record["note"] == "test: n"
    whole = {name: NamedSplit(8) for name in ("train", "valid", "test")}
    assert experiments.data_record(whole, root=tmp_path)["is_subset"] is False


def test_a_grid_is_resumed_only_on_the_data_it_began_with(monkeypatch, tmp_path):
    fake = FakeTraining(monkeypatch)
    out, cpu = tmp_path / "g.json", torch.device("cpu")
    run_grid("mnist", VARIANTS[:1], GRID, out, cpu, tune_epochs=1)
    before = out.read_text()
    other = json.loads(before)["data"] | {"train_size": 16}
    monkeypatch.setattr(experiments, "data_record", lambda *a, **k: dict(other))
    fake.calls.clear()
    with pytest.raises(ValueError, match=r"other settings \(data \(split sizes"):
        run_grid("mnist", VARIANTS[:1], GRID, out, cpu, tune_epochs=1)
    assert out.read_text() == before and fake.calls == []


def test_each_family_takes_its_own_tuning_and_every_seed_trains(monkeypatch, tmp_path):
    """conv is best at lr 0.1, LRLC at 0.2: each family's runs use its own choice; tuning
    runs use seed 0 whatever the grid's seeds; a grid of three seeds trains three."""
    fake = FakeTraining(monkeypatch)

    def by_family(variant, dataset, splits, grid, lr, wd, seed, device, epochs=None, *rest):
        record = fake_record(variant, grid, lr, wd, seed, epochs)
        best = 0.1 if variant.layer == "conv" else 0.2
        record["valid_accuracy"] = 1.0 if lr == best else 0.5
        fake.calls.append(("tune" if epochs else "run", variant.key(), seed))
        return record

    monkeypatch.setattr(experiments, "train_variant", by_family)
    grid = Grid(epochs=2, lrs=(0.1, 0.2), weight_decays=(0.0,), seeds=(3, 4, 5), tune_rank=2)
    saved = run_grid("mnist", VARIANTS, grid, tmp_path / "g.json", torch.device("cpu"),
                     tune_epochs=1)  # fmt: skip
    assert saved["chosen"] == {"conv-all": {"lr": 0.1, "weight_decay": 0.0},
                               "lrlc-all": {"lr": 0.2, "weight_decay": 0.0}}  # fmt: skip
    assert {r["lr"] for r in saved["runs"] if r["layer"] == "conv"} == {0.1}
    assert {r["lr"] for r in saved["runs"] if r["layer"] == "lrlc"} == {0.2}
    assert {seed for what, _, seed in fake.calls if what == "tune"} == {0}
    for v in VARIANTS:
        seeds = [r["seed"] for r in saved["runs"] if (r["layer"], r["rank"]) == (v.layer, v.rank)]
        assert sorted(seeds) == [3, 4, 5], v


def test_an_untuned_grid_says_so_and_is_not_resumed_with_tuning(monkeypatch, tmp_path):
    fake = FakeTraining(monkeypatch)
    out, cpu = tmp_path / "g.json", torch.device("cpu")
    grid = Grid(epochs=2, lrs=(0.1, 0.2), weight_decays=(0.0, 5e-4), seeds=(0,))
    saved = run_grid("mnist", VARIANTS[:2], grid, out, cpu, tune=False)
    assert {(r["lr"], r["weight_decay"]) for r in saved["runs"]} == {(0.1, 0.0)}  # the first
    assert saved["tuning"] == [] and [c[0] for c in fake.calls] == ["run", "run"]
    assert saved["config"]["selection"] == experiments.UNTUNED_SELECTION
    assert not results.Results("mnist", saved, "g.json").tuned
    with pytest.raises(ValueError, match=r"other settings \(selection\)"):
        run_grid("mnist", VARIANTS[:2], grid, out, cpu)  # tuning now: another grid


def test_a_resumed_grid_retrains_no_one_layer_run_and_keeps_its_timings(monkeypatch, tmp_path):
    fake = FakeTraining(monkeypatch)
    out, cpu = tmp_path / "g.json", torch.device("cpu")
    last = [Variant("lrlc", 2, "last"), Variant("lrlc", 2)]
    one_seed = Grid(epochs=2, lrs=(0.1,), weight_decays=(0.0,), seeds=(0,))
    run_grid("mnist", last, one_seed, out, cpu)
    fake.calls.clear()
    run_grid("mnist", last, one_seed, out, cpu)  # everything is in the file
    assert fake.calls == []
    # a second seed: each run is expected to take 30 s, as the first call's runs did, so
    # none starts with 10 s left (a variant never timed would start)
    two_seeds = Grid(epochs=2, lrs=(0.1,), weight_decays=(0.0,), seeds=(0, 1))
    run_grid("mnist", last, two_seeds, out, cpu, time_limit=10)
    assert fake.calls == []


def test_the_clock_expects_a_variants_slowest_epoch_and_scales_its_family_by_rank():
    clock = experiments._Clock(100)
    rank2 = Variant("lrlc", 2)
    clock.record({"layer": "lrlc", "rank": 2, "where": "all", "epochs": 1, "wall_seconds": 10})
    clock.record({"layer": "lrlc", "rank": 2, "where": "all", "epochs": 2, "wall_seconds": 10})
    assert clock.expected(rank2, 2) == 20  # 10 s an epoch, the slower of the two
    assert clock.expected(Variant("lrlc", 8), 1) == 40  # four times rank 2's width
    assert clock.expected(Variant("lrlc", 1), 1) == 10  # never less than a timed member
    assert clock.expected(Variant("conv"), 3) == 0  # another family, never timed


def offsets(canvas):
    inside = canvas >= 2.0
    tops = [int(inside[i, 0].any(1).nonzero()[0]) for i in range(len(canvas))]
    return tops


def test_misaligned_offsets_reach_both_ends_of_the_canvas():
    faces = torch.rand(512, 3, 32, 32) * 0.5 + 2.0
    tops = offsets(place_in_noise(faces, 48, torch.Generator().manual_seed(0)))
    assert min(tops) == 1 and max(tops) == 16


def test_misaligned_noise_is_uniform_on_zero_to_one():
    faces = torch.rand(64, 3, 32, 32) * 0.5 + 2.0
    canvas = place_in_noise(faces, 48, torch.Generator().manual_seed(0))
    noise = canvas[canvas < 2.0]
    assert abs(noise.mean().item() - 0.5) < 0.01 and noise.max() > 0.99


def test_the_misaligned_loader_seed_chooses_its_draws():
    batches = [(torch.rand(4, 3, 32, 32), torch.arange(4))]
    a = list(MisalignedLoader(batches, seed=1))[0][0]
    b = list(MisalignedLoader(batches, seed=2))[0][0]
    assert not torch.equal(a, b)
