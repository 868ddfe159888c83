"""Save a trained network with its config, and rebuild it from the file alone."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from lrlc.loader import auto_device
from lrlc.models import NetworkConfig, SimpleNetwork, build_network
from lrlc.train import History

__all__ = ["save_checkpoint", "load_checkpoint"]


def _loadable(value: object, name: str) -> object:
    """``value`` as plain Python data that ``torch.load(weights_only=True)`` reads back:
    numbers, strings, None, tensors, and lists, tuples and dicts of them. Paths and string
    subclasses (NumPy's, enums) become ``str``, NumPy scalars Python numbers, named tuples
    tuples, a :class:`.History` its dict; anything else is refused with its ``name``, before
    a file is written."""
    if value is None or isinstance(value, bool | torch.Tensor):
        return value
    if isinstance(value, str | Path):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):  # NumPy's float64 is a float too: make it Python's
        return float(value)
    if isinstance(value, list | tuple):
        items = [_loadable(v, f"{name}[{i}]") for i, v in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str | int):
                raise TypeError(f"save_checkpoint: {name} has a key {key!r}; use str or int keys")
        return {_loadable(k, name): _loadable(v, f"{name}[{k!r}]") for k, v in value.items()}
    if isinstance(value, History):
        return _loadable(value.to_dict(), name)
    if callable(getattr(value, "item", None)) and getattr(value, "shape", None) == ():
        return value.item()  # a NumPy scalar
    hint = (
        ": convert it with torch.from_numpy(a) or a.tolist()" if hasattr(value, "__array__") else ""
    )
    raise TypeError(
        f"save_checkpoint: {name} is of type {type(value).__name__}; checkpoints keep plain "
        "data, so that load_checkpoint can read them with torch.load(weights_only=True): "
        f"numbers, strings, tensors, or lists and dicts of them{hint}"
    )


def save_checkpoint(
    path: str | Path, model: SimpleNetwork, history: History | dict | None = None, **info
) -> Path:
    """Write ``model``'s weights, its :class:`.NetworkConfig` and optional history/info to ``path``.

    model: a :class:`.SimpleNetwork` (its config rebuilds it). history: what :func:`.fit`
    returned, saved as ``history.to_dict()``, or a dict. info: numbers, strings, tensors,
    lists and dicts of them (paths and NumPy scalars are converted), so that
    :func:`load_checkpoint` can read the file without unpickling arbitrary objects.

    The file is written to a temporary name first, so an interrupted save leaves no
    half-written checkpoint behind.
    """
    if isinstance(path, SimpleNetwork) and isinstance(model, (str, Path)):
        raise TypeError(
            "save_checkpoint takes the path first, then the model (unlike torch.save): "
            "save_checkpoint(path, model)"
        )
    if not isinstance(model, SimpleNetwork):
        raise TypeError(
            f"save_checkpoint saves the paper network (lrlc.models.SimpleNetwork, from "
            f"paper_network or build_network), got a {type(model).__name__}: for another "
            "model, save model.state_dict() with torch.save"
        )
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder: give a file path, e.g. {path / 'model.pt'}")
    payload = {
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "history": _loadable(history, "history"),
        "info": _loadable(info, "info"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.save(payload, tmp)
    except BaseException:  # a full disk, Ctrl-C: the old checkpoint stays, no .tmp is left
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return path


def load_checkpoint(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[SimpleNetwork, dict]:
    """Rebuild the network saved at ``path`` on ``device``; returns ``(model, payload)``: the
    model in training mode, as a new module is (call ``model.eval()`` before inference), and
    the saved dict, with ``"config"``, ``"state_dict"``, ``"history"`` and ``"info"``.
    FileNotFoundError for a missing file, IsADirectoryError for a folder, ValueError for a
    file save_checkpoint did not write or whose weights do not fit its config."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder: give the checkpoint file in it")
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {path}: train a model and save it with save_checkpoint(path, model)"
        )
    device = auto_device(device)
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, KeyError, OSError, EOFError):
        raise ValueError(
            f"{path} is not a readable checkpoint of save_checkpoint (truncated, corrupt, or "
            "another kind of file); a whole model saved with torch.save(model) is not read: "
            "save it with save_checkpoint(path, model)"
        ) from None
    if not isinstance(payload, dict) or not {"config", "state_dict"} <= payload.keys():
        raise ValueError(
            f"{path} is not a checkpoint of save_checkpoint (it has no network config): for a "
            "bare state_dict, build the network again (paper_network(...)) and call "
            "model.load_state_dict(torch.load(path))"
        )
    model = build_network(NetworkConfig.from_dict(payload["config"]))
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as error:
        raise ValueError(
            f"{path}: its weights do not fit the network its config describes (edited or "
            f"mixed from two files); save the model again with save_checkpoint. {error}"
        ) from None
    return model.to(device), payload
