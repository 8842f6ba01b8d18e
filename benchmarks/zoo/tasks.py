"""The zoo's tasks: the data, model, loss and metric of each, and its budget, batch size and seeds.

Nothing is downloaded: MNIST-1D comes from the ``mnist1d`` package's local generator (through
:mod:`cyclr.demo.mnist1d`), digits and Friedman #1 from scikit-learn (bundled / generated), and
the language model's text from a small probabilistic grammar generated here.

Every model fits ``loss_fn(model(inputs), targets)``: the language model returns logits
``(N, vocab, T)`` for targets ``(N, T)``, and the autoencoder's loader yields ``(x, x)``.

Example:
    >>> from zoo.tasks import TASKS, grammar_text
    >>> t = TASKS["grammar_lm_adamw"]
    >>> t.metric, t.higher_is_better, t.batch_size
    ('val_loss', False, 32)
    >>> grammar_text(200, seed=0)[:24] == grammar_text(200, seed=0)[:24]
    True
"""

from __future__ import annotations

import contextlib
import functools
import io
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "GOALS",
    "TASKS",
    "Batches",
    "Data",
    "Task",
    "evaluate",
    "grammar_text",
    "load",
    "loss_fn",
    "make_model",
    "make_optimizer",
]

#: The 1cycle regret goal per metric: percentage points of accuracy, or percent of the loss.
GOALS = {"accuracy": 0.3, "mse": 5.0, "val_loss": 1.0}


@dataclass(frozen=True)
class Task:
    """One task of the zoo.

    Attributes:
        key, title: identifier and description.
        data: the data set (a key of :data:`DATA`).
        model: the architecture (a key of :data:`MODELS`).
        optimizer: ``"sgd"`` (momentum 0.9), ``"adam"`` or ``"adamw"``.
        batch_size: mini-batch size.
        budget: optimizer updates of every training run.
        metric: ``"accuracy"`` (test accuracy), ``"mse"`` (test mean squared error) or
            ``"val_loss"`` (validation loss: cross-entropy per token, or reconstruction MSE).
        lr_center: centre of the LR grids (a prior from the task's kind; every grid grows past
            an end that turns out to be best).
        weight_decay: the optimizer's weight decay (L2 for SGD, decoupled for AdamW).
        seeds: the seeds (initial weights and batch order).
        holdout: reported apart; not to be looked at when tuning cyclr's rules.
        regret_goal_override: a goal other than :data:`GOALS` for this metric.
    """

    key: str
    title: str
    data: str
    model: str
    optimizer: str
    batch_size: int
    budget: int
    metric: str
    lr_center: float
    weight_decay: float = 0.0
    seeds: tuple[int, ...] = (0, 1, 2)
    holdout: bool = False
    regret_goal_override: float | None = None

    @property
    def higher_is_better(self) -> bool:
        """Accuracy rises; losses fall."""
        return self.metric == "accuracy"

    @property
    def regret_goal(self) -> float:
        """The 1cycle regret goal: pp of accuracy, or % of the loss."""
        if self.regret_goal_override is not None:
            return self.regret_goal_override
        return GOALS[self.metric]

    @property
    def iters_per_epoch(self) -> int:
        """Updates per pass over the training set."""
        return max(1, len(load(self.data).x_train) // self.batch_size)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Task:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: tuple(x) if isinstance(x, list) else x for k, x in d.items()})


_TASK_LIST = [
    Task(
        "mnist1d_cnn_sgd",
        "MNIST-1D, 1-D CNN, SGD momentum 0.9, batch 128",
        "mnist1d",
        "cnn1d",
        "sgd",
        batch_size=128,
        budget=2000,
        metric="accuracy",
        lr_center=0.1,
    ),
    Task(
        "mnist1d_mlp_adam",
        "MNIST-1D, MLP 2 x 100, Adam, batch 64",
        "mnist1d",
        "mlp1d",
        "adam",
        batch_size=64,
        budget=3000,
        metric="accuracy",
        lr_center=1e-2,
    ),
    Task(
        "mnist1d_bncnn_sgd",
        "MNIST-1D, BatchNorm CNN, SGD momentum 0.9, weight decay 5e-4, batch 256",
        "mnist1d",
        "bncnn1d",
        "sgd",
        batch_size=256,
        budget=1500,
        metric="accuracy",
        lr_center=0.3,
        weight_decay=5e-4,
    ),
    Task(
        "digits_resnet_adamw",
        "sklearn digits 8x8, residual CNN (BatchNorm), AdamW weight decay 0.01, batch 32",
        "digits",
        "resnet2d",
        "adamw",
        batch_size=32,
        budget=1500,
        metric="accuracy",
        lr_center=1e-2,
        weight_decay=0.01,
    ),
    Task(
        "grammar_lm_adamw",
        "synthetic-grammar text, causal transformer LM (2 layers, d=48), AdamW 0.01, batch 32",
        "grammar",
        "gpt",
        "adamw",
        batch_size=32,
        budget=1500,
        metric="val_loss",
        lr_center=1e-2,
        weight_decay=0.01,
    ),
    Task(
        "friedman_mlp_sgd",
        "Friedman #1 regression (standardised), MLP 2 x 64, SGD momentum 0.9, batch 64",
        "friedman",
        "mlp_reg",
        "sgd",
        batch_size=64,
        budget=3000,
        metric="mse",
        lr_center=0.03,
    ),
    Task(
        "tabular_mlp_sgd",
        "synthetic tabular classification (20 features, 4 classes), MLP 2 x 128, SGD "
        "momentum 0.9, batch 32",
        "tabular",
        "mlp_tab",
        "sgd",
        batch_size=32,
        budget=2500,
        metric="accuracy",
        lr_center=0.1,
    ),
    Task(
        "mnist1d_gru_adam",
        "MNIST-1D as a sequence, GRU (64 units), Adam, batch 16",
        "mnist1d",
        "gru1d",
        "adam",
        batch_size=16,
        budget=2000,
        metric="accuracy",
        lr_center=1e-2,
        holdout=True,
    ),
    Task(
        "digits_ae_adamw",
        "sklearn digits, MLP autoencoder (64-128-32-8), AdamW weight decay 0.01, batch 128",
        "digits_ae",
        "ae",
        "adamw",
        batch_size=128,
        budget=2000,
        metric="val_loss",
        lr_center=3e-3,
        weight_decay=0.01,
        holdout=True,
        regret_goal_override=GOALS["mse"],
    ),
]

#: Every task, by key.
TASKS: dict[str, Task] = {t.key: t for t in _TASK_LIST}


# -- data -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Data:
    """Training and held-out tensors; ``vocab`` is the LM's alphabet size (0 otherwise)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    vocab: int = 0


def _f32(a: Any) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float32))


def _mnist1d() -> Data:
    from cyclr.demo import mnist1d

    d = mnist1d.load()
    return Data(d.x_train, d.y_train, d.x_test, d.y_test)


def _digits(flat: bool) -> Data:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    xa, xb, ya, yb = train_test_split(x / 16.0, y, test_size=450, random_state=0, stratify=y)
    if flat:  # the autoencoder: the target is the input
        a, b = _f32(xa), _f32(xb)
        return Data(a, a, b, b)
    a, b = _f32(xa).reshape(-1, 1, 8, 8), _f32(xb).reshape(-1, 1, 8, 8)
    return Data(
        a, torch.as_tensor(ya, dtype=torch.int64), b, torch.as_tensor(yb, dtype=torch.int64)
    )


def _friedman() -> Data:
    from sklearn.datasets import make_friedman1

    x, y = make_friedman1(n_samples=5000, n_features=10, noise=1.0, random_state=0)
    xa, xb, ya, yb = x[:4000], x[4000:], y[:4000], y[4000:]
    mx, sx, my, sy = xa.mean(0), xa.std(0), ya.mean(), ya.std()
    return Data(
        _f32((xa - mx) / sx),
        _f32((ya - my) / sy).reshape(-1, 1),
        _f32((xb - mx) / sx),
        _f32((yb - my) / sy).reshape(-1, 1),
    )


# A small probabilistic grammar: subject-verb agreement (also across a relative clause),
# prepositional phrases, adjectives, adverbs and conjunctions.
_NOUNS = ("cat", "dog", "bird", "farmer", "teacher", "river", "garden", "window", "robot", "baker")
_ADJS = ("small", "red", "old", "quiet", "happy", "green", "tall", "cold")
_VERBS_T = ("see", "like", "follow", "find", "watch", "help", "call", "paint")
_VERBS_I = ("sleep", "sing", "wait", "run", "smile", "fall")
_ADVS = ("slowly", "again", "today", "quietly", "often")
_PREPS = ("near", "behind", "with", "under")
_DET_SG = ("the", "a", "one", "every", "this")
_DET_PL = ("the", "some", "two", "many", "these")
_CONJ = ("and", "but", "because", "while")


def _third_person(verb: str) -> str:
    return verb + ("es" if verb.endswith(("ch", "sh", "s")) else "s")


def _sentence(rng: np.random.Generator) -> str:
    def pick(words: tuple[str, ...]) -> str:
        return words[int(rng.integers(len(words)))]

    def noun_phrase(depth: int) -> tuple[str, bool]:
        plural = bool(rng.random() < 0.4)
        words = [pick(_DET_PL if plural else _DET_SG)]
        if rng.random() < 0.4:
            words.append(pick(_ADJS))
        noun = pick(_NOUNS)
        words.append(noun + "s" if plural else noun)
        if depth < 2 and rng.random() < 0.2:
            words += [pick(_PREPS), noun_phrase(depth + 1)[0]]
        return " ".join(words), plural

    def verb(plural: bool, transitive: bool) -> str:
        v = pick(_VERBS_T if transitive else _VERBS_I)
        return v if plural else _third_person(v)

    def clause() -> str:
        subject, plural = noun_phrase(0)
        words = [subject]
        if rng.random() < 0.2:  # a relative clause between subject and verb
            words += ["that", verb(plural, True), noun_phrase(1)[0]]
        transitive = bool(rng.random() < 0.6)
        words.append(verb(plural, transitive))
        if transitive:
            words.append(noun_phrase(0)[0])
        if rng.random() < 0.3:
            words.append(pick(_ADVS))
        return " ".join(words)

    parts = [clause()]
    while len(parts) < 3 and rng.random() < 0.25:
        parts += [pick(_CONJ), clause()]
    return " ".join(parts) + "."


def grammar_text(n_chars: int, seed: int) -> str:
    """At least ``n_chars`` characters of sentences from the grammar (deterministic by seed)."""
    rng = np.random.default_rng(seed)
    out: list[str] = []
    size = 0
    while size < n_chars:
        s = _sentence(rng)
        out.append(s)
        size += len(s) + 1
    return " ".join(out)


#: Context length of the language model.
LM_CONTEXT = 32


def _grammar() -> Data:
    train, val = grammar_text(320_000, seed=1), grammar_text(32_000, seed=2)
    alphabet = sorted(set(train) | set(val))
    index = {c: i for i, c in enumerate(alphabet)}

    def windows(text: str) -> tuple[torch.Tensor, torch.Tensor]:
        ids = np.array([index[c] for c in text], dtype=np.int64)
        n = (len(ids) - 1) // LM_CONTEXT
        starts = np.arange(n) * LM_CONTEXT
        w = np.stack([ids[s : s + LM_CONTEXT + 1] for s in starts])
        t = torch.as_tensor(w)
        return t[:, :-1].contiguous(), t[:, 1:].contiguous()

    xa, ya = windows(train)
    xb, yb = windows(val)
    return Data(xa, ya, xb, yb, vocab=len(alphabet))


def _tabular() -> Data:
    from sklearn.datasets import make_classification

    x, y = make_classification(
        n_samples=6000,
        n_features=20,
        n_informative=10,
        n_redundant=4,
        n_classes=4,
        n_clusters_per_class=2,
        flip_y=0.02,
        random_state=0,
    )
    xa, xb, ya, yb = x[:5000], x[5000:], y[:5000], y[5000:]
    mx, sx = xa.mean(0), xa.std(0)
    return Data(
        _f32((xa - mx) / sx),
        torch.as_tensor(ya, dtype=torch.int64),
        _f32((xb - mx) / sx),
        torch.as_tensor(yb, dtype=torch.int64),
    )


DATA: dict[str, Callable[[], Data]] = {
    "tabular": _tabular,
    "mnist1d": _mnist1d,
    "digits": lambda: _digits(flat=False),
    "digits_ae": lambda: _digits(flat=True),
    "friedman": _friedman,
    "grammar": _grammar,
}


@functools.cache
def load(name: str) -> Data:
    """The data set ``name`` (generated once per process)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return DATA[name]()


class Batches:
    """Endless shuffled mini-batches, a fresh permutation every pass, reproducible by seed.

    ``state_dict``/``load_state_dict`` let :func:`cyclr.torch.range_test` rewind it.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int) -> None:
        self.x, self.y, self.batch_size, self.seed = x, y, batch_size, seed

    def __len__(self) -> int:
        return max(1, len(self.x) // self.batch_size)

    def state_dict(self) -> dict[str, int]:
        """The seed of the next pass."""
        return {"seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Rewind to a state from :meth:`state_dict`."""
        self.seed = int(state["seed"])

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        g = torch.Generator().manual_seed(self.seed)
        self.seed += 1
        perm = torch.randperm(len(self.x), generator=g)
        for i in range(len(self)):
            idx = perm[i * self.batch_size : (i + 1) * self.batch_size]
            yield self.x[idx], self.y[idx]


# -- models ---------------------------------------------------------------------------------
class _BNCNN(nn.Module):
    """Three conv-BatchNorm-ReLU stages with max pooling, global average pooling, a linear head."""

    def __init__(self) -> None:
        super().__init__()

        def stage(c_in: int, c_out: int, k: int) -> list[nn.Module]:
            return [nn.Conv1d(c_in, c_out, k, padding=k // 2, bias=False), nn.BatchNorm1d(c_out)]

        self.net = nn.Sequential(
            *stage(1, 16, 5),
            nn.ReLU(),
            nn.MaxPool1d(2),
            *stage(16, 32, 3),
            nn.ReLU(),
            nn.MaxPool1d(2),
            *stage(32, 32, 3),
            nn.ReLU(),
            nn.AdaptiveAvgPool1d(1),
            nn.Flatten(),
            nn.Linear(32, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _Block(nn.Module):
    """A basic residual block: conv-BN-ReLU-conv-BN plus the (projected) input, then ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.skip: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.skip = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.skip(x))


class _ResNet(nn.Module):
    """A small ResNet for 8x8 images: a stem, two residual blocks (the second strided)."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
        )
        self.blocks = nn.Sequential(_Block(width, width, 1), _Block(width, 2 * width, 2))
        self.head = nn.Linear(2 * width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.stem(x))
        return self.head(h.mean(dim=(2, 3)))


class _GPT(nn.Module):
    """A causal transformer LM (pre-norm); returns logits ``(N, vocab, T)``."""

    def __init__(self, vocab: int, d: int = 48, heads: int = 4, layers: int = 2) -> None:
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.randn(LM_CONTEXT, d) * 0.02)
        layer = nn.TransformerEncoderLayer(
            d, heads, 4 * d, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
        )
        self.body = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[1]
        mask = torch.triu(torch.full((t, t), float("-inf")), diagonal=1)
        h = self.body(self.tok(x) + self.pos[:t], mask=mask, is_causal=True)
        return self.head(self.norm(h)).transpose(1, 2)


class _GRU(nn.Module):
    """A GRU over the sequence (one feature per step); the last hidden state is classified."""

    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        self.gru = nn.GRU(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.gru(x.transpose(1, 2))
        return self.head(h[-1])


def _mlp(*sizes: int) -> nn.Module:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _demo(arch: str, seed: int) -> nn.Module:
    from cyclr.demo import mnist1d

    return mnist1d.cnn(seed) if arch == "cnn" else mnist1d.mlp(seed)


#: Model builders ``(data, seed) -> module`` (the torch RNG is seeded before the call).
MODELS: dict[str, Callable[[Data, int], nn.Module]] = {
    "cnn1d": lambda d, s: _demo("cnn", s),
    "mlp1d": lambda d, s: _demo("mlp", s),
    "bncnn1d": lambda d, s: _BNCNN(),
    "resnet2d": lambda d, s: _ResNet(),
    "gpt": lambda d, s: _GPT(d.vocab),
    "gru1d": lambda d, s: _GRU(),
    "mlp_reg": lambda d, s: _mlp(10, 64, 64, 1),
    "mlp_tab": lambda d, s: _mlp(20, 128, 128, 4),
    "ae": lambda d, s: _mlp(64, 128, 32, 8, 32, 128, 64),
}


def make_model(task: Task, seed: int) -> nn.Module:
    """A fresh model: the same initial weights for the same ``seed``."""
    torch.manual_seed(seed)
    return MODELS[task.model](load(task.data), seed)


def make_optimizer(task: Task, params: Any, lr: float) -> torch.optim.Optimizer:
    """The task's optimizer at ``lr``."""
    if task.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=task.weight_decay)
    if task.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=task.weight_decay)
    return torch.optim.AdamW(params, lr=lr, weight_decay=task.weight_decay)


def loss_fn(task: Task) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``loss_fn(model(inputs), targets)``: cross-entropy for classes and tokens, else MSE."""
    if task.metric == "accuracy" or task.model == "gpt":
        return F.cross_entropy
    return F.mse_loss


@torch.no_grad()
def evaluate(task: Task, model: nn.Module, data: Data | None = None) -> float:
    """The task's metric on its held-out set, in eval mode and in chunks of 500 examples."""
    data = load(task.data) if data is None else data
    was_training = model.training
    model.eval()
    try:
        total, n = 0.0, 0
        for i in range(0, len(data.x_test), 500):
            x, y = data.x_test[i : i + 500], data.y_test[i : i + 500]
            out = model(x)
            if task.metric == "accuracy":
                total += float((out.argmax(1) == y).sum())
            elif task.model == "gpt":  # mean cross-entropy per token
                total += float(F.cross_entropy(out, y, reduction="sum")) / y.shape[1]
            else:  # mean squared error per output
                total += float(F.mse_loss(out, y, reduction="sum")) / (y.numel() / len(y))
            n += len(y)
        return total / n
    finally:
        model.train(was_training)
