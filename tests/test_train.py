"""fit / evaluate / checkpoints on small synthetic problems (the real data runs are elsewhere)."""

import collections
import copy
import enum
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from devices import DEVICES
from torch.utils.data import DataLoader, TensorDataset

from lrlc.checkpoints import load_checkpoint, save_checkpoint
from lrlc.loader import Augment, DeviceLoader, Normalization
from lrlc.models import NetworkConfig, SimpleNetwork, paper_network
from lrlc.train import auto_device, evaluate, fit


def bright_vs_dark(n: int = 256, seed: int = 0) -> TensorDataset:
    """A learnable 2-class problem: class 1 images have a bright top-left quadrant."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = 0.3 * torch.randn(n, 1, 12, 12, generator=g)
    x[y == 1, :, :6, :6] += 1.0
    return TensorDataset(x, y)


def loader(ds, shuffle=True, seed=0):
    return DataLoader(
        ds, batch_size=32, shuffle=shuffle, generator=torch.Generator().manual_seed(seed)
    )


def small_network(kind="conv", rank=None) -> SimpleNetwork:
    return SimpleNetwork(
        NetworkConfig(
            (kind,) * 2, rank=rank, in_channels=1, input_size=(12, 12), num_classes=2, width=8
        )
    )


@pytest.mark.parametrize("kind,rank", [("conv", None), ("lrlc", 2), ("lc", None)])
def test_fit_learns_and_records_history(kind, rank):
    torch.manual_seed(0)
    model = small_network(kind, rank)
    train, test = bright_vs_dark(256, 0), bright_vs_dark(128, 1)
    # 8 epochs: LC at the official (Keras) scale fits the training set within 4, but its
    # BatchNorm running statistics need a few more steps to catch up with weights that move
    # that fast (evaluated after 4 epochs it scored 0.69)
    history = fit(
        model, loader(train), test=loader(test, False), epochs=8, lr=0.2, seed=0, progress=False
    )
    assert history.epochs == 8
    assert len(history.test_accuracy) == len(history.seconds) == 8
    assert history.valid_accuracy == [None] * 8
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.test_accuracy[-1] > 0.9  # chance is 0.5
    assert evaluate(model, loader(test, False))["accuracy"] == history.test_accuracy[-1]


def test_fit_is_deterministic_on_the_cpu_with_a_seed():
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        model = small_network("lrlc", 2)
        runs.append(
            fit(model, loader(bright_vs_dark()), epochs=2, seed=3, progress=False).train_loss
        )
    assert runs[0] == runs[1]


def test_multi_label_evaluation_is_the_mean_over_labels():
    model = SimpleNetwork(
        NetworkConfig(
            ("conv",), in_channels=1, input_size=(6, 6), num_classes=3, width=4, multi_label=True
        )
    )
    x = torch.randn(10, 1, 6, 6)
    with torch.no_grad():
        logits = model.eval()(x)
    y = (torch.rand(10, 3) > 0.5).float()
    result = evaluate(model, [(x[:4], y[:4]), (x[4:], y[4:])])
    per_label = ((logits > 0) == (y > 0.5)).float().mean(0)
    assert result["per_label"] == pytest.approx(per_label.tolist())
    assert result["accuracy"] == pytest.approx(per_label.mean().item())
    history = fit(model, [(x, y)], epochs=1, progress=False)
    assert 0 <= history.train_accuracy[0] <= 1


@pytest.mark.parametrize("device", DEVICES)
def test_checkpoint_round_trip(tmp_path, device):
    model = paper_network("lrlc", 2, dataset="mnist").eval()
    path = save_checkpoint(tmp_path / "m.pt", model, history={"epochs": 1}, dataset="mnist")
    loaded, payload = load_checkpoint(path, device=device)
    assert {p.device.type for p in loaded.parameters()} == {device}
    x = torch.randn(2, 1, 28, 28)
    assert torch.equal(loaded.cpu().eval()(x), model(x))
    assert payload["info"] == {"dataset": "mnist"} and payload["history"] == {"epochs": 1}
    assert loaded.config == model.config
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.pt")


def test_checkpoint_keeps_every_setting_and_refuses_weights_that_do_not_fit(tmp_path):
    class Level(enum.IntEnum):
        HIGH = 2

    model = paper_network(  # a CelebA head over 40 attributes, one logit per position
        "lrlc", 2, dataset="celeba", num_classes=40, multi_label=True, width=4,
        share_combining_weights=False,
    )  # fmt: skip
    path = save_checkpoint(tmp_path / "new" / "sub" / "m.pt", model, flag=True, level=Level.HIGH,
                           per_label={0: 0.5})  # fmt: skip
    loaded, payload = load_checkpoint(path)
    assert loaded.config == model.config and loaded.config.multi_label
    assert not loaded.config.share_combining_weights
    assert loaded.training  # as a new module is, as the docstring says
    info = payload["info"]
    assert info["flag"] is True and info["per_label"] == {0: 0.5}
    assert info["level"] == 2 and type(info["level"]) is int

    def full_disk(obj, f):  # a save that fails halfway keeps the checkpoint there was
        Path(f).write_bytes(b"half")
        raise OSError("No space left on device")

    with pytest.MonkeyPatch.context() as m:
        m.setattr(torch, "save", full_disk)
        with pytest.raises(OSError, match="No space"):
            save_checkpoint(path, paper_network("conv", dataset="celeba", width=4))
    assert load_checkpoint(path)[0].config == model.config
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.pt"]  # no .tmp left

    with pytest.raises(IsADirectoryError, match="is a folder: give the checkpoint file"):
        load_checkpoint(path.parent)
    for name, saved in [("config-only.pt", {"config": payload["config"]}),
                        ("tensor.pt", torch.zeros(3)), ("list.pt", [payload])]:  # fmt: skip
        torch.save(saved, tmp_path / name)
        with pytest.raises(ValueError, match="not a checkpoint of save_checkpoint"):
            load_checkpoint(tmp_path / name)
    del payload["state_dict"]["features.0.spatial_bias"]  # edited by hand
    torch.save(payload, tmp_path / "edited.pt")
    with pytest.raises(ValueError, match=r"(?s)do not fit.*Missing key.*spatial_bias"):
        load_checkpoint(tmp_path / "edited.pt")


def test_checkpoint_takes_fits_history_and_refuses_what_it_could_not_load(tmp_path):
    model = paper_network("conv", dataset="mnist", width=4)
    x, y = torch.randn(8, 1, 28, 28), torch.randint(0, 10, (8,))
    history = fit(model, [(x, y)], epochs=1, progress=False)
    Pair = collections.namedtuple("Pair", "a b")
    path = save_checkpoint(
        tmp_path / "m.pt",
        model,
        history=history,
        root=tmp_path,
        accuracy=np.float64(0.5),
        epochs=np.int64(3),
        names={np.str_("layer"): np.str_("conv")},
        pair=Pair(1, (2, 3)),
    )
    _, payload = load_checkpoint(path)
    assert payload["history"] == history.to_dict()
    assert payload["info"] == {
        "root": str(tmp_path),
        "accuracy": 0.5,
        "epochs": 3,
        "names": {"layer": "conv"},
        "pair": (1, (2, 3)),
    }
    with pytest.raises(TypeError, match=r"info\['weights'\] is of type ndarray.*torch.from_numpy"):
        save_checkpoint(tmp_path / "bad.pt", model, weights=np.zeros(3))
    with pytest.raises(TypeError, match=r"info\['note'\] is of type object"):
        save_checkpoint(tmp_path / "bad.pt", model, note=object())
    with pytest.raises(TypeError, match="save_checkpoint saves the paper network"):
        save_checkpoint(tmp_path / "bad.pt", torch.nn.Sequential())
    with pytest.raises(TypeError, match=r"path first.*save_checkpoint\(path, model\)"):
        save_checkpoint(model, tmp_path / "bad.pt")  # torch.save's order
    with pytest.raises(TypeError, match=r"path first"):
        save_checkpoint(model, str(tmp_path / "bad.pt"))
    assert not (tmp_path / "bad.pt").exists()


def test_auto_device(monkeypatch):
    assert auto_device("cpu") == torch.device("cpu")
    assert auto_device().type in ("cuda", "mps", "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert auto_device() == torch.device("cpu")
    with pytest.raises(RuntimeError, match="GPU was requested but none is available.*Colab"):
        auto_device("cuda")
    with pytest.raises(RuntimeError, match="MPS device.*not available.*device='cpu'"):
        auto_device("mps")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert auto_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert auto_device() == torch.device("cuda")


def test_fit_rejects_zero_epochs():
    with pytest.raises(ValueError, match="epochs must be an int >= 1"):
        fit(small_network(), loader(bright_vs_dark()), epochs=0)


def test_fit_refuses_a_loader_without_batches():
    x, y = torch.randn(10, 1, 28, 28), torch.randint(0, 10, (10,))
    loader = DataLoader(TensorDataset(x, y), batch_size=16, drop_last=True)
    with pytest.raises(ValueError, match="yields no batches.*smaller batch_size"):
        fit(paper_network("conv", dataset="mnist"), loader, epochs=1, progress=False)


def test_log_progress_prints_one_line_per_epoch(capsys, monkeypatch):
    monkeypatch.delenv("LRLC_PROGRESS", raising=False)
    torch.manual_seed(0)
    data = bright_vs_dark(64)
    history = fit(
        small_network(), loader(data), valid=loader(data, False), epochs=2, progress="log"
    )
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert len(lines) == 2 and err == ""
    assert lines[0].startswith("epoch 1/2 | loss ") and lines[1].startswith("epoch 2/2 | ")
    assert f"valid {history.valid_accuracy[1]:.1%}" in lines[1]
    assert "images/s" in lines[1] and "test" not in lines[1]


def test_lrlc_progress_log_turns_a_bar_into_a_log_but_not_silence_into_one(capsys, monkeypatch):
    monkeypatch.setenv("LRLC_PROGRESS", "log")
    fit(small_network(), loader(bright_vs_dark(64)), epochs=1, progress=True)
    assert capsys.readouterr().out.startswith("epoch 1/1 | ")
    fit(small_network(), loader(bright_vs_dark(64)), epochs=1, progress=False)
    assert capsys.readouterr().out == ""


def test_bad_progress_settings_are_named(monkeypatch):
    with pytest.raises(ValueError, match="progress must be True, False or 'log'"):
        fit(small_network(), loader(bright_vs_dark(64)), epochs=1, progress="verbose")
    monkeypatch.setenv("LRLC_PROGRESS", "quiet")
    with pytest.raises(ValueError, match="LRLC_PROGRESS must be 'bar' or 'log'"):
        fit(small_network(), loader(bright_vs_dark(64)), epochs=1)


@pytest.mark.parametrize("kind", ["conv", "lc", "lrlc", "lrlc_input", "wide_conv", "coordconv"])
def test_the_gpu_recipe_trains_every_layer_type(kind):
    """What ``fit`` does by default on CUDA, bf16 autocast and channels_last, run on the
    CPU for each layer type of the grids (the paper's three layers, narrower and on
    smaller images): the GPU reference runs take this path first."""
    torch.manual_seed(0)
    layer = "conv" if kind == "coordconv" else kind
    config = NetworkConfig((layer,) * 3, rank=None if layer in ("conv", "lc") else 2,
                           in_channels=3, input_size=(12, 12), num_classes=2, width=8,
                           coord_conv=kind == "coordconv")  # fmt: skip
    model = SimpleNetwork(config)
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(64, 3, 12, 12, generator=g), torch.randint(0, 2, (64,), generator=g)
    batches = DataLoader(TensorDataset(x, y), batch_size=16)
    history = fit(model, batches, valid=batches, epochs=2, lr=0.05, device="cpu", amp=True,
                  channels_last=True, seed=0, progress=False)  # fmt: skip
    assert all(math.isfinite(loss) for loss in history.train_loss)
    assert history.valid_accuracy[-1] is not None
    assert all(p.dtype == torch.float32 for p in model.parameters())  # autocast, not casting
    result = evaluate(model, batches, amp=True)
    assert 0.0 <= result["accuracy"] <= 1.0 and math.isfinite(result["loss"])


def device_loader(seed=None, n=96):
    """A shuffled, augmented DeviceLoader on the CPU over bright_vs_dark as uint8 images."""
    x, y = bright_vs_dark(n).tensors
    images = ((x.clamp(-1, 2) + 1) * 80).to(torch.uint8)
    return DeviceLoader(
        images, y, 32, Normalization(1 / 255, 0.0), device="cpu", shuffle=True,
        augment=Augment(padding=1, hflip=False), seed=seed,
    )  # fmt: skip


def test_fit_seed_reseeds_a_device_loader_built_without_one():
    """fit(seed=s) twice from the same weights gives the same run: the loader's shuffle and
    augmentation restart from s, whatever the global generator did in between."""
    torch.manual_seed(0)
    model = small_network()
    start = copy.deepcopy(model.state_dict())
    train = device_loader()
    assert not train.explicit_seed
    runs = []
    for unrelated in (1, 2):
        model.load_state_dict(start)
        torch.manual_seed(unrelated)
        runs.append(fit(model, train, epochs=2, seed=5, progress=False).train_loss)
        assert train.seed == 5
    assert runs[0] == runs[1]


def test_fit_seed_leaves_a_loader_with_its_own_seed_alone():
    """A loader built with seed= keeps its sequence (the book's and the grids' runs)."""
    train, twin = device_loader(seed=3), device_loader(seed=3)
    assert train.explicit_seed
    fit(small_network(), train, epochs=1, seed=0, progress=False)
    for _ in twin:  # one epoch, without fit
        pass
    assert train.seed == 3 and torch.equal(train.generator.get_state(), twin.generator.get_state())


def test_multi_label_loss_is_summed_over_labels():
    """Binary cross-entropy summed over the labels, averaged over examples (not labels)."""
    torch.manual_seed(0)
    model = SimpleNetwork(
        NetworkConfig(
            ("conv",), in_channels=1, input_size=(6, 6), num_classes=3, width=4, multi_label=True
        )
    )
    x, y = torch.randn(8, 1, 6, 6), (torch.rand(8, 3) > 0.5).float()
    with torch.no_grad():
        train_expected = F.binary_cross_entropy_with_logits(model.train()(x), y, reduction="sum")
        expected = F.binary_cross_entropy_with_logits(model.eval()(x), y, reduction="sum") / 8
    assert evaluate(model, [(x, y)])["loss"] == pytest.approx(expected.item(), rel=1e-6)
    history = fit(model, [(x, y)], epochs=1, lr=0.0, progress=False)
    assert history.train_loss[0] == pytest.approx(train_expected.item() / 8, rel=1e-6)


def _logits_and_weights(model):
    layer = model.features[0]
    return (
        torch.cat([layer.combining_row.detach().flatten(), layer.combining_col.detach().flatten()]),
        layer.weight.detach().clone(),
    )


def _one_step(scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The change of the first LRLC layer's combining logits and filters after one SGD step."""
    torch.manual_seed(0)
    model = small_network("lrlc", 2).double()
    x, y = bright_vs_dark(32, 0).tensors
    data = DataLoader(TensorDataset(x.double(), y), batch_size=32)
    logits0, weights0 = _logits_and_weights(model)
    fit(model, data, epochs=1, lr=0.1, weight_decay=0.0, seed=0, progress=False,
        combining_lr_scale=scale)  # fmt: skip
    logits1, weights1 = _logits_and_weights(model)
    return logits1 - logits0, weights1 - weights0


def test_combining_lr_scale_scales_only_the_combining_logits_step():
    logits_step, weights_step = _one_step(1.0)
    logits_step10, weights_step10 = _one_step(10.0)
    assert logits_step.abs().max() > 0  # the logits do learn at the plain rate
    # one SGD step from the same start on the same batch: the logits move 10x as far, the
    # filters exactly as far
    torch.testing.assert_close(logits_step10, 10 * logits_step)
    torch.testing.assert_close(weights_step10, weights_step)
    frozen_logits, frozen_weights = _one_step(0.0)
    assert frozen_logits.abs().max() == 0  # 0 freezes the uniform start
    torch.testing.assert_close(frozen_weights, weights_step)


def test_combining_logits_get_a_group_of_their_own_without_weight_decay():
    from lrlc.train import _param_groups

    model = small_network("lrlc", 2)
    groups = _param_groups(model, 5e-4, 0.1, 10.0)
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = sorted(names[id(p)] for p in groups[0]["params"])
    logits = sorted(names[id(p)] for p in groups[2]["params"])
    assert groups[2]["lr"] == pytest.approx(1.0) and groups[2]["weight_decay"] == 0.0
    assert logits == [f"features.{i}.combining_{rc}" for i in (0, 3) for rc in ("col", "row")]
    # the weights of the convolutions and the head decay; biases, BatchNorm and logits not
    assert decayed == ["features.0.weight", "features.3.weight", "head.weight"]
    assert groups[0]["weight_decay"] == 5e-4 and groups[1]["weight_decay"] == 0.0
    assert len(_param_groups(small_network("conv"), 5e-4, 0.1, 10.0)) == 2  # nothing to scale


def test_fit_steps_sgd_with_nesterov_momentum_down_a_cosine(monkeypatch):
    """The recipe of every stored run: SGD, Nesterov momentum 0.9, and a learning rate
    that decays from ``lr`` along a half cosine over all the steps of the run."""
    seen = []
    step = torch.optim.SGD.step

    def recording_step(self, *args, **kwargs):
        group = self.param_groups[0]
        seen.append((group["lr"], group["momentum"], group["nesterov"]))
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.SGD, "step", recording_step)
    fit(small_network(), loader(bright_vs_dark(64)), epochs=2, lr=0.1, seed=0, progress=False)
    steps = 4  # 2 epochs of 2 batches
    expected = [0.1 * 0.5 * (1 + math.cos(math.pi * k / steps)) for k in range(steps)]
    assert [lr for lr, _, _ in seen] == pytest.approx(expected)
    assert all(momentum == 0.9 and nesterov is True for _, momentum, nesterov in seen)


def test_evaluate_leaves_the_model_in_the_mode_it_found():
    data = loader(bright_vs_dark(32), False)
    model = small_network().train()
    evaluate(model, data)
    assert model.training
    evaluate(model.eval(), data)
    assert not model.training


@pytest.mark.parametrize("scale", [-1.0, float("nan")])
def test_fit_rejects_a_negative_combining_lr_scale(scale):
    with pytest.raises(ValueError, match="combining_lr_scale must be >= 0"):
        fit(small_network("lrlc", 2), loader(bright_vs_dark(32)), epochs=1, progress=False,
            combining_lr_scale=scale)  # fmt: skip


def test_compiled_training_matches_eager_training():
    """``fit(..., compile=True)`` (torch.compile, the default inductor backend) trains the
    same LRLC network as eager mode does: the same losses, to float32 rounding. Measured
    on this CPU for LRLC, input-dependent LRLC and LC alike; LRLC stands for them here,
    its custom autograd function included (compiling takes some seconds)."""
    losses = []
    for compile in (False, True):
        torch.manual_seed(0)
        model = small_network("lrlc", 2)
        history = fit(model, loader(bright_vs_dark(64)), epochs=2, lr=0.1, seed=0,
                      progress=False, compile=compile)  # fmt: skip
        losses.append(history.train_loss)
    assert losses[1] == pytest.approx(losses[0], rel=1e-4)
    assert losses[0][1] < losses[0][0]  # it trained


def test_compile_modes_are_named_and_checked():
    torch.manual_seed(0)
    model = small_network("conv")
    with pytest.raises(ValueError, match=r"compile must be True, False or a torch.compile mode"):
        fit(model, loader(bright_vs_dark(32)), epochs=1, compile="fastest", progress=False)
