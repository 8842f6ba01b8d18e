"""``torch.distributed`` on localhost: start one worker process per rank, and the workers' entry.

A test file that runs ranks ends with ``if __name__ == "__main__": worker_main(_worker)`` and
calls ``run_ranks(__file__, ...)``; each copy of the file then runs ``_worker(rank, world, out)``
inside a gloo group.
"""

from __future__ import annotations

import datetime
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.support import ROOT


def free_port() -> int:
    """A free TCP port on the loopback address."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def leave_group(rank: int, world: int, out: Any, timeout_s: float = 60.0) -> None:
    """End a worker's ``torch.distributed`` group so that no rank aborts on the way out.

    Every rank meets at a barrier and destroys the group, then marks ``out/left_RANK``. Rank 0,
    whose process holds the rendezvous store, waits (at most ``timeout_s``) for every other
    rank's mark before it exits: a rank still tearing gloo down when the store disappears can
    die with ``terminate called without an active exception``.
    """
    import torch.distributed as dist

    dist.barrier()
    dist.destroy_process_group()
    folder = Path(out)
    (folder / f"left_{rank}").write_text("")
    if rank == 0:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all((folder / f"left_{r}").exists() for r in range(1, world)):
                return
            time.sleep(0.05)


def worker_main(work: Callable[[int, int, Path], None]) -> None:
    """The entry of a worker that :func:`run_ranks` started as ``python FILE RANK WORLD PORT OUT``:
    one torch thread, a gloo group on 127.0.0.1, ``work(rank, world, out)``, then
    :func:`leave_group`."""
    import torch
    import torch.distributed as dist

    rank, world, port, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=world,
        timeout=datetime.timedelta(seconds=60),
    )
    work(rank, world, out)
    leave_group(rank, world, out)


def run_ranks(script: str, world: int, out: Any, timeout_s: float) -> None:
    """Run ``python script RANK WORLD PORT OUT`` for every rank (gloo on 127.0.0.1, one thread
    each) from the repository root; fail the test if one fails or any outlives ``timeout_s``."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path, GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1")
    port = free_port()
    procs = [
        subprocess.Popen(
            [sys.executable, script, str(rank), str(world), str(port), str(out)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for rank in range(world)
    ]
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=timeout_s)[0].decode(errors="replace"))
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()
        pytest.fail(f"distributed workers did not finish within {timeout_s} s")
    for rank, (p, log) in enumerate(zip(procs, logs)):
        assert p.returncode == 0, f"rank {rank} failed:\n{log[-4000:]}"
