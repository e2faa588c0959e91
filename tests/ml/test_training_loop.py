"""The pieces of the fine-tuning loop: every loss, the learning-rate schedule, the best epoch kept."""

from __future__ import annotations

import numpy as np
import pytest

from tram_core.ml.training_loop import BestEpoch, linear_schedule, make_loss


@pytest.mark.parametrize("loss", ["bce", "focal", "asl"])
def test_every_loss_rewards_the_right_answer(loss):
    import torch

    fn = make_loss(loss, torch.full((2,), 3.0))
    targets = torch.tensor([[1.0, 0.0]])
    assert fn(torch.tensor([[4.0, -4.0]]), targets) < fn(torch.tensor([[-4.0, 4.0]]), targets)


def test_the_schedule_warms_up_linearly_then_decays_to_zero():
    import torch

    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=1.0)
    scheduler = linear_schedule(optimizer, warmup_ratio=0.2, total_steps=10)
    rates = []
    for _ in range(10):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[:2] == pytest.approx([0.5, 1.0])  # two warm-up steps
    assert rates[2:] == pytest.approx([1.0, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8, 2 / 8, 1 / 8])
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0)


def test_the_best_epoch_is_kept_and_restored_unless_it_is_the_last():
    import torch

    model = torch.nn.Linear(2, 1)
    best = BestEpoch()
    with torch.no_grad():
        model.weight.fill_(1.0)
        best.offer(0.4, 1, model)
        model.weight.fill_(2.0)
        best.offer(0.3, 2, model)  # worse: not kept
        model.weight.fill_(3.0)
    assert (best.epoch, best.score) == (1, 0.4)
    best.restore(model, last_epoch=3)
    assert torch.equal(model.weight, torch.ones(1, 2)) and best.state is None

    best.offer(0.9, 3, model)
    with torch.no_grad():
        model.weight.fill_(5.0)
    best.restore(model, last_epoch=3)  # the last epoch is the best: the model is left as it is
    assert torch.equal(model.weight, torch.full((1, 2), 5.0))


def test_adamw_uses_the_fused_kernel_where_it_fits_and_steps_like_the_loop_version():
    import torch

    from tram_core.ml.training_loop import fused_adamw_fits, make_optimizer

    def model_and_step(force_foreach: bool):
        torch.manual_seed(0)
        model = torch.nn.Module()
        model.encoder = torch.nn.Linear(8, 8)
        model.classifier = torch.nn.Linear(8, 3)
        optimizer = make_optimizer(model, 1e-2, 1e-1, 0.01)
        if force_foreach:
            for group in optimizer.param_groups:
                group["fused"], group["foreach"] = None, True
            optimizer.defaults["fused"] = None
        x = torch.randn(4, 8)
        for _ in range(3):
            loss = model.classifier(model.encoder(x)).pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return optimizer, model

    fused, fused_model = model_and_step(False)
    assert all(group["fused"] for group in fused.param_groups)
    _, loop_model = model_and_step(True)
    for a, b in zip(fused_model.parameters(), loop_model.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    assert not fused_adamw_fits([torch.zeros(2, dtype=torch.long)])  # integer tensors: the foreach path
    assert not fused_adamw_fits([])


def test_sqrt_class_weighting_raises_rare_techniques_and_stays_within_its_bounds():
    from tram_core.ml.training_loop import class_pos_weight

    counts = [400, 100, 25, 1]  # median 62.5
    y = np.zeros((400, 4), dtype=np.float32)
    for j, n in enumerate(counts):
        y[:n, j] = 1
    weights = class_pos_weight(y, 1.0, "sqrt").numpy()
    assert list(weights) == sorted(weights)  # the rarer, the heavier
    np.testing.assert_allclose(weights[1:3], np.sqrt(62.5 / np.array([100, 25])), rtol=1e-5)
    assert weights[0] == 0.5 and weights[3] == 4.0  # clipped to [0.5, 4]
    assert class_pos_weight(y, None, "none") is None
