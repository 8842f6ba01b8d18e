"""cyclr.plot.online: the warm-up's curve with the bounds read, and the LR of every update
(realised, planned), the decision and the blow-ups, for the core schedule and the torch one."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from cyclr.online import OnlineController

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import cyclr.plot  # noqa: E402

TOTAL = 1000


def run(
    steps: int, policy: str = "one_cycle", blow: tuple[int, ...] = (), **kw: Any
) -> OnlineController:
    """An online schedule fed a noisy loss-vs-LR curve for ``steps`` updates; NaN at ``blow``."""
    rng = np.random.default_rng(0)
    kw.setdefault("total_steps", TOTAL)
    s = OnlineController(policy, **kw)
    for t in range(steps):
        lr = s.lr()
        loss = 2.3 - 1.5 / (1 + (0.01 / lr) ** 2) + 20 * lr**2 + rng.normal(0, 0.03)
        s.observe(float("nan") if t in blow else loss)
    return s


def line(ax: Any, label: str) -> Any:
    (found,) = [h for h in ax.get_lines() if h.get_label() == label]
    return found


def labels(ax: Any) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_a_decided_schedule_mid_run() -> None:
    s = run(500)
    d = s.decided_at
    assert d is not None and 200 < d < 449
    drawn = cyclr.plot.online(s)
    assert isinstance(drawn, cyclr.plot.OnlinePlot) and drawn.decided_at == d

    # left: the warm-up as recorded, with the bounds read
    cax = drawn.curve.ax
    raw = line(cax, "loss")
    assert raw.get_xdata().tolist() == s.lrs and raw.get_ydata().tolist() == s.losses
    assert cax.get_xscale() == "log"
    assert "bounds read by 'loss'" in cax.get_title() and f"{d} updates" in cax.get_title()
    b = s.bounds
    lo, hi = b.reading.plateau
    assert hi == b.max_lr  # 1cycle peaks at the plateau's end
    plateau = line(cax, f"lowest plateau {lo:.3g} - {hi:.3g}")
    assert plateau.get_xdata().tolist() == [lo, hi]
    assert any(f"{b.base_lr:.3g} - {b.max_lr:.3g}" in t for t in labels(cax))
    # max_lr's marker sits on the curve read, at the plateau's end
    (peak,) = [h for h in cax.get_lines() if h.get_marker() == "^"]
    want = np.interp(np.log(b.max_lr), np.log(b.curve_lr), b.curve_values)
    assert peak.get_xdata()[0] == b.max_lr and peak.get_ydata()[0] == pytest.approx(want)

    # right: the LR realised so far and planned for the rest, the decision marked
    ax = drawn.ax
    so_far = line(ax, "LR so far")
    np.testing.assert_array_equal(so_far.get_xdata(), np.arange(500))
    assert so_far.get_ydata().tolist() == [s.lr(t) for t in range(500)]
    assert so_far.get_ydata()[:d].tolist() == s.lrs  # the warm-up ran the recorded LRs
    planned = line(ax, "LR planned")
    np.testing.assert_array_equal(planned.get_xdata(), np.arange(500, TOTAL))
    assert planned.get_ydata().tolist() == [s.lr(t) for t in range(500, TOTAL)]
    decision = line(ax, f"bounds read at update {d}")
    assert list(decision.get_xdata()) == [d, d]
    assert ax.get_yscale() == "log" and ax.get_xlim() == (0, TOTAL - 1)
    assert f"max_lr = {b.max_lr:.3g}" in [t.get_text() for t in ax.texts]
    assert "base_lr" not in " ".join(t.get_text() for t in ax.texts)  # 1cycle ends lower
    assert f"read at update {d}" in ax.get_title() and "500 of 1000" in ax.get_title()
    assert "loss blew up" not in labels(ax)


def test_the_torch_scheduler_and_any_holder_of_the_core_are_accepted() -> None:
    s = run(400)
    for holder in (SimpleNamespace(online=s), s):
        drawn = cyclr.plot.online(holder)
        assert drawn.decided_at == s.decided_at
        assert line(drawn.ax, "LR so far").get_ydata().tolist() == [s.lr(t) for t in range(400)]
    with pytest.raises(TypeError, match=r"OnlineController or have one as \.online"):
        cyclr.plot.online(SimpleNamespace(online=None))
    with pytest.raises(TypeError, match="two axes"):
        cyclr.plot.online(s, ax=plt.gca())


def test_a_real_torch_run() -> None:
    torch = pytest.importorskip("torch")
    from cyclr.torch import online_schedule

    g = torch.Generator().manual_seed(0)
    x = torch.randn(1024, 10, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = online_schedule(model, opt, total_steps=400)
    applied = []
    for t in range(300):
        idx = (torch.arange(32) + 32 * t) % 1024
        applied.append(opt.param_groups[0]["lr"])
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step(loss)
    d = sched.decided_at
    assert d is not None
    drawn = cyclr.plot.online(sched)
    assert line(drawn.ax, "LR so far").get_ydata().tolist() == applied
    r = sched.range_test_result
    raw = line(drawn.curve.ax, "loss")
    assert raw.get_xdata().tolist() == r.lr.tolist() and raw.get_ydata().tolist() == r.loss.tolist()
    assert list(line(drawn.ax, f"bounds read at update {d}").get_xdata()) == [d, d]


def test_before_the_decision_the_ramp_ahead_is_drawn() -> None:
    s = run(150)
    assert s.decided_at is None
    drawn = cyclr.plot.online(s)
    assert drawn.decided_at is None
    assert "not read yet" in drawn.curve.ax.get_title()
    assert "warming up" in drawn.ax.get_title()
    ahead = line(drawn.ax, "the ramp ahead (until the bounds are read)")
    np.testing.assert_array_equal(ahead.get_xdata(), np.arange(150, s.warmup_steps))
    assert ahead.get_ydata()[-1] == pytest.approx(s.end_lr)
    assert not any(h.get_label().startswith("bounds read") for h in drawn.ax.get_lines())


def test_blow_ups_after_the_decision_are_marked_and_the_lr_realised_before_each_kept() -> None:
    s = run(800, blow=(600, 700))
    d = s.decided_at
    assert d is not None and s.scale == 0.25 and len(s.log) == 3
    drawn = cyclr.plot.online(s)
    full = OnlineController("one_cycle", total_steps=TOTAL)
    full.load_state_dict(dict(s.state_dict(), scale=1.0, halvings=[]))
    scale = np.where(np.arange(800) <= 600, 1.0, np.where(np.arange(800) <= 700, 0.5, 0.25))
    want = np.array([full.lr(t) for t in range(800)]) * np.where(np.arange(800) < d, 1.0, scale)
    np.testing.assert_allclose(line(drawn.ax, "LR so far").get_ydata(), want, rtol=1e-12)
    marks = line(drawn.ax, "loss blew up (rest halved)")
    assert marks.get_xdata().tolist() == [600, 700]
    np.testing.assert_allclose(marks.get_ydata(), want[[600, 700]], rtol=1e-12)
    assert line(drawn.ax, "LR planned").get_ydata()[-1] == pytest.approx(0.25 * full.lr(999))


def test_a_blow_up_in_the_warm_up_is_marked_where_the_bounds_were_read() -> None:
    s = run(400, blow=(300,))
    assert s.decided_at == 301 and s.blew_up
    drawn = cyclr.plot.online(s)
    marks = line(drawn.ax, "loss blew up")
    assert marks.get_xdata().tolist() == [300] and marks.get_ydata()[0] == s.lr(300)
    assert list(line(drawn.ax, "bounds read at update 301").get_xdata()) == [301, 301]


def test_triangular_draws_both_bounds_and_two_cycles_without_total_steps() -> None:
    s = run(600, "triangular", total_steps=None, warmup_steps=449)
    d = s.decided_at
    assert d is not None
    _, axes = plt.subplots(1, 2)
    drawn = cyclr.plot.online(s, ax=axes)
    assert drawn.curve.ax is axes[0] and drawn.ax is axes[1]
    texts = [t.get_text() for t in drawn.ax.texts]
    b = s.bounds
    assert f"max_lr = {b.max_lr:.3g}" in texts and f"base_lr = {b.base_lr:.3g}" in texts
    assert drawn.ax.get_xlim() == (0, d + 4 * d - 1)  # half cycles of the warm-up's length
    planned = line(drawn.ax, "LR planned").get_ydata()
    assert min(planned) == pytest.approx(b.base_lr) and max(planned) == pytest.approx(b.max_lr)


def test_the_image_is_drawn(tmp_path: Any) -> None:
    path = tmp_path / "online.png"
    cyclr.plot.online(run(800, blow=(700,))).figure.savefig(path)
    assert path.stat().st_size > 10_000
