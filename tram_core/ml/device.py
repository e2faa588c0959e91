"""Which torch device work runs on: one rule for the worker, training, prediction, the Train form and the CLI.

``auto`` (or nothing) picks a CUDA GPU, then Apple silicon's ``mps``, then the CPU. An explicit ``cpu``, ``cuda``,
``cuda:N`` or ``mps`` is checked against what torch sees here, so a run asks for a device this machine has and a
typo or a missing GPU is one clear line rather than a failure deep inside torch.
"""

from __future__ import annotations

import re

from tram_core.errors import UserError

AUTO = "auto"
# What the Train form offers; ``cuda:N`` (a GPU by index) is accepted wherever a device is typed.
DEVICE_CHOICES: tuple[str, ...] = (AUTO, "cpu", "cuda", "mps")
_CUDA_INDEXED = re.compile(r"^cuda:(\d+)$")


def _cuda_count() -> int:
    try:
        import torch

        return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0
    except Exception:  # noqa: BLE001 - torch missing or its CUDA runtime broken: no GPU to offer
        return 0


def _mps_available() -> bool:
    try:
        import torch

        backend = getattr(torch.backends, "mps", None)
        return bool(backend is not None and backend.is_available())
    except Exception:  # noqa: BLE001 - torch missing or too old to know mps: not available
        return False


def available_devices() -> tuple[str, ...]:
    """The devices this machine can run on, best first: ``cuda:0``…, then ``mps``, then ``cpu``."""
    gpus = tuple(f"cuda:{index}" for index in range(_cuda_count()))
    return gpus + (("mps",) if _mps_available() else ()) + ("cpu",)


def device_name(requested: str | None) -> str:
    """``requested`` spelled one way (``auto`` for nothing, lower case); ``UserError`` for a name that is none of
    ``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``.

    Only the spelling: whether a machine has the device is ``resolve_device``'s to say, on the machine that runs
    the work (a web server without a GPU may queue a run for a worker that has one).
    """
    wanted = (requested or AUTO).strip().lower()
    if wanted in DEVICE_CHOICES or _CUDA_INDEXED.match(wanted):
        return wanted
    raise UserError(f"Unknown device '{requested}': use auto, cpu, cuda, cuda:N or mps")


def resolve_device(requested: str | None) -> str:
    """The device to run on for ``requested`` (``auto``/None, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``).

    ``auto`` becomes ``cuda`` when torch sees a GPU, else ``mps`` when Apple silicon's backend is there, else
    ``cpu``. Anything else is returned as asked once this machine has it; otherwise ``UserError`` names the value
    and the devices that are available here.
    """
    try:
        wanted = device_name(requested)
    except UserError as exc:
        raise UserError(f"{exc} (available here: {', '.join(available_devices())})") from None
    if wanted == AUTO:
        if _cuda_count():
            return "cuda"
        return "mps" if _mps_available() else "cpu"
    if wanted == "cpu":
        return wanted  # always there, and needs no torch to say so
    available = ", ".join(available_devices())
    if wanted == "mps":
        if not _mps_available():
            raise UserError(f"Device '{requested}' was asked for, but Apple silicon's mps backend is not available "
                            f"on this machine (available: {available})")
        return wanted
    count = _cuda_count()  # device_name let through nothing else: 'cuda' or 'cuda:N'
    if not count:
        raise UserError(f"Device '{requested}' was asked for, but torch sees no CUDA GPU on this machine "
                        f"(available: {available})")
    indexed = _CUDA_INDEXED.match(wanted)
    if indexed and int(indexed.group(1)) >= count:
        raise UserError(f"Device '{requested}' was asked for, but torch sees {count} CUDA GPU(s), numbered from 0 "
                        f"(available: {available})")
    return wanted
