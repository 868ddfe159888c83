"""Save a trained network with its config, and rebuild it from the file alone."""

from __future__ import annotations

from pathlib import Path

import torch

from lrlc.models import NetworkConfig, SimpleNetwork, build_network

__all__ = ["save_checkpoint", "load_checkpoint"]


def save_checkpoint(
    path: str | Path, model: SimpleNetwork, history: dict | None = None, **info
) -> Path:
    """Write ``model``'s weights, its :class:`.NetworkConfig` and optional history/info to ``path``.

    The file is written to a temporary name first, so an interrupted save leaves no
    half-written checkpoint behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "history": history,
        "info": info,
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[SimpleNetwork, dict]:
    """Rebuild the network saved at ``path``; returns ``(model, payload)`` (history, info)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {path}: train a model and save it with save_checkpoint(path, model)"
        )
    payload = torch.load(path, map_location=device, weights_only=True)
    model = build_network(NetworkConfig.from_dict(payload["config"]))
    model.load_state_dict(payload["state_dict"])
    return model.to(device), payload
