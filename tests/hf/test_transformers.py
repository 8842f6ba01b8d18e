"""Hugging Face models, which compute their own loss: the range test through ``loss_of_batch``, and
``CyclicScheduler`` as the ``lr_scheduler`` of ``transformers.Trainer`` (resume included).

The model is a 2-layer GPT-2 built from a config (nothing is downloaded; ``HF_HUB_OFFLINE=1``);
the data a tiny synthetic language: sequences that count up modulo the vocabulary from a random
start, so the next token is learnable.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers is imported: never reach the Hub

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip(
    "transformers", reason="needs the hf extra: pip install 'cyclr[hf]' (transformers)"
)

from tests.support.state import assert_same, capture  # noqa: E402

import cyclr  # noqa: E402
from cyclr.torch import CyclicScheduler, auto_schedule, range_test  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

VOCAB, LENGTH = 32, 16


def tiny_gpt2(seed: int = 0):
    torch.manual_seed(seed)
    config = transformers.GPT2Config(
        vocab_size=VOCAB, n_positions=LENGTH, n_embd=32, n_layer=2, n_head=2, n_inner=64
    )
    return transformers.GPT2LMHeadModel(config)


class Counting(torch.utils.data.Dataset):
    """``start, start+1, ...`` modulo the vocabulary, as ``{"input_ids", "labels"}``."""

    def __init__(self, n: int = 256, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        starts = torch.randint(0, VOCAB, (n, 1), generator=g)
        self.ids = (starts + torch.arange(LENGTH)) % VOCAB

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


def loader(shuffle: bool = True):
    return torch.utils.data.DataLoader(Counting(), batch_size=16, shuffle=shuffle)


def hf_loss(model, batch):
    return model(**batch).loss


def hf_loss_and_tokens(model, batch):
    """The loss, and next-token logits ``(N, V, T-1)`` with their targets for accuracy."""
    out = model(**batch)
    return out.loss, out.logits[:, :-1].transpose(1, 2), batch["labels"][:, 1:]


# -- the range test ------------------------------------------------------------------------------
@pytest.mark.parametrize("scenario", ["end", "diverged", "keyboard_interrupt"])
def test_range_test_on_a_gpt2_restores_it_bitwise(scenario):
    model = tiny_gpt2()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    for batch in list(loader(shuffle=False))[:3]:  # mid-training: Adam moments, grads
        opt.zero_grad()
        hf_loss(model, batch).backward()
        opt.step()
    hf_loss(model, next(iter(loader(shuffle=False)))).backward()
    before = capture(model, opt)
    fn, kw = hf_loss, dict(num_iter=20, start_lr=1e-5, end_lr=1e-2)
    if scenario == "diverged":
        kw = dict(num_iter=60, start_lr=1e-3, end_lr=1e3, smooth=0.5)
    if scenario == "keyboard_interrupt":
        calls = []

        def fn(model, batch):
            calls.append(1)
            if len(calls) > 5:
                raise KeyboardInterrupt
            return hf_loss(model, batch)

        with pytest.raises(KeyboardInterrupt) as info:
            range_test(model, opt, None, loader(), loss_of_batch=fn, progress=False, **kw)
        assert info.value.range_test_result.stop_reason == "interrupted"
        assert len(info.value.range_test_result) == 5
    else:
        r = range_test(model, opt, None, loader(), loss_of_batch=fn, progress=False, **kw)
        if scenario == "end":
            assert r.stop_reason == "end" and len(r) == 20 and np.isfinite(r.loss).all()
        else:
            assert r.stop_reason in ("diverged", "non_finite_loss") and len(r) < 60
    assert_same(before, capture(model, opt))


def test_the_same_seed_gives_the_same_curve_and_the_tuple_form_records_accuracy():
    """Dropout and shuffling draw from the RNGs the test seeds and restores: two runs agree."""
    model = tiny_gpt2()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    runs = [
        range_test(model, opt, None, loader(), loss_of_batch=hf_loss_and_tokens, num_iter=40,
                   start_lr=1e-4, end_lr=1e-1, seed=3, progress=False)
        for _ in range(2)
    ]  # fmt: skip
    a, b = runs
    assert a.loss.tobytes() == b.loss.tobytes() and a.metric.tobytes() == b.metric.tobytes()
    assert a.metric_name == "accuracy" and a.config["loss_of_batch"] == "hf_loss_and_tokens"
    assert a.metric[-10:].mean() > a.metric[:10].mean()  # it learns to count as the LR rises


# -- transformers.Trainer ------------------------------------------------------------------------
TOTAL, STOP = 12, 6


class LRs(transformers.TrainerCallback):
    """The LR and momentum (Adam's beta1) at the start of every optimizer update."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.seen: list[tuple[int, float, float]] = []
        self.stop_at = stop_at

    def on_step_begin(self, args, state, control, optimizer=None, **kwargs):
        group = optimizer.param_groups[0]
        self.seen.append((state.global_step, float(group["lr"]), float(group["betas"][0])))

    def on_step_end(self, args, state, control, **kwargs):
        if self.stop_at is not None and state.global_step >= self.stop_at:
            control.should_training_stop = True  # an interruption right after a checkpoint


@pytest.fixture(scope="module")
def schedule() -> cyclr.Schedule:
    """The 1cycle auto_schedule finds on the model, which computes its own loss."""
    model = tiny_gpt2()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sched = auto_schedule(model, opt, None, loader(), total_steps=TOTAL, loss_of_batch=hf_loss,
                          coarse_iter=60, linear_iter=100, seed=0, progress=False)  # fmt: skip
    assert 0 < sched.bounds.base_lr < sched.bounds.max_lr
    return sched.schedules[0]


def _trainer(tmp_path, schedule, callback, **kw):
    model = tiny_gpt2()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sched = CyclicScheduler(opt, schedule, momentum=True)
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path), max_steps=TOTAL, per_device_train_batch_size=16,
        report_to=[], use_cpu=True, save_steps=STOP, logging_steps=100, disable_tqdm=True,
        dataloader_num_workers=0, seed=0, **kw,
    )  # fmt: skip
    trainer = transformers.Trainer(
        model=model, args=args, train_dataset=Counting(), optimizers=(opt, sched),
        callbacks=[callback],
    )  # fmt: skip
    return trainer, model, sched


def test_cyclic_scheduler_drives_the_trainer_and_resumes_from_its_checkpoint(tmp_path, schedule):
    full = LRs()
    trainer, full_model, sched = _trainer(tmp_path / "full", schedule, full)
    trainer.train()
    steps, lrs, betas = map(np.array, zip(*full.seen))
    np.testing.assert_array_equal(steps, np.arange(TOTAL))
    np.testing.assert_array_equal(lrs, schedule(steps))  # bit for bit
    np.testing.assert_array_equal(betas, schedule.momentum()(steps))
    assert sched.last_epoch == TOTAL

    first = LRs(stop_at=STOP)
    trainer, _, _ = _trainer(tmp_path / "run", schedule, first)
    trainer.train()
    checkpoint = tmp_path / "run" / f"checkpoint-{STOP}"
    assert (checkpoint / "scheduler.pt").exists()
    saved = torch.load(checkpoint / "scheduler.pt", weights_only=True)  # plain data
    assert saved["last_epoch"] == STOP

    resumed = LRs()
    trainer, resumed_model, resumed_sched = _trainer(tmp_path / "run", schedule, resumed)
    trainer.train(resume_from_checkpoint=str(checkpoint))
    assert first.seen == full.seen[:STOP]
    assert resumed.seen == full.seen[STOP:]
    assert resumed_sched.last_epoch == TOTAL
    for (name, a), b in zip(full_model.named_parameters(), resumed_model.parameters()):
        assert torch.equal(a, b), name  # the same batches and updates: the same weights
