"""One device rule for the worker, training, prediction, the Train form and the CLI, with torch's view of the machine
mocked: a Mac with mps, a machine with two GPUs, a CPU-only one."""

from __future__ import annotations

import pytest
import torch

from tram_core.errors import UserError
from tram_core.jobs import queue
from tram_core.ml.device import DEVICE_CHOICES, available_devices, device_name, resolve_device
from tram_core.views import train_form


@pytest.fixture
def machine(monkeypatch):
    """Set what torch sees: ``machine(gpus=2, mps=False)``."""

    def set_up(gpus: int = 0, mps: bool = False) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)

    return set_up


def test_on_apple_silicon_auto_picks_mps_and_mps_is_accepted(machine):
    machine(gpus=0, mps=True)
    assert available_devices() == ("mps", "cpu")
    assert resolve_device("auto") == resolve_device(None) == resolve_device("") == "mps"
    assert resolve_device("mps") == resolve_device(" MPS ") == "mps"
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(UserError, match=r"'cuda' was asked for, but torch sees no CUDA GPU.*available: mps, cpu"):
        resolve_device("cuda")


def test_mps_is_refused_with_what_is_available_where_it_is_not(machine):
    machine(gpus=0, mps=False)
    assert resolve_device("auto") == "cpu"
    with pytest.raises(UserError, match=r"'mps' was asked for, but Apple silicon's mps backend is not available "
                                        r"on this machine \(available: cpu\)"):
        resolve_device("mps")


def test_a_gpu_comes_first_and_an_index_is_checked(machine):
    machine(gpus=2, mps=True)
    assert available_devices() == ("cuda:0", "cuda:1", "mps", "cpu")
    assert resolve_device("auto") == "cuda"
    assert resolve_device("cuda:1") == "cuda:1"
    with pytest.raises(UserError, match=r"'cuda:2' was asked for, but torch sees 2 CUDA GPU\(s\)"):
        resolve_device("cuda:2")


def test_an_unknown_device_names_the_value_and_what_is_available(machine):
    machine(gpus=0, mps=False)
    with pytest.raises(UserError, match=r"Unknown device 'gpu': use auto, cpu, cuda, cuda:N or mps "
                                        r"\(available here: cpu\)"):
        resolve_device("gpu")
    with pytest.raises(UserError, match="Unknown device 'cuda:x'"):
        device_name("cuda:x")


def test_a_run_queued_for_mps_from_the_train_form_is_accepted_wherever_it_is_queued(machine, store):
    # The web server that queues the run may lack the device (the worker has it): only the spelling is checked.
    machine(gpus=0, mps=False)
    assert "mps" in DEVICE_CHOICES
    field = next(f for f in train_form.option_fields({}) if f.name == "device")
    assert field.choices == DEVICE_CHOICES and field.default == "auto"
    options = train_form.build_options("baseline", {"device": "mps"}, {})
    job_id = queue.submit_training(store, options, "ana")
    assert store.get_job(job_id).params["options"]["device"] == "mps"
    with pytest.raises(UserError, match="Unknown device 'tpu'"):
        queue.submit_training(store, {"base": "baseline", "device": "tpu"}, "ana")


def test_the_worker_refuses_a_device_this_machine_lacks_in_one_line(machine, settings, capsys):
    from tram_core.cli import main

    machine(gpus=0, mps=False)
    assert main(["worker", "--once", "--device", "mps"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'mps' was asked for" in err and "available: cpu" in err
