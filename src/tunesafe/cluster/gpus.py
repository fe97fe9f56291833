"""GPU slots: which devices a job on one multi-GPU node (no scheduler) may use.

Snakemake's `gpu` resource (profile profiles/gpu) caps the number of GPUs in use at
the node's count, but it does not tell a job *which* devices are free (Snakemake issue
#281). ``tunesafe --gpus N <stage> ...`` therefore takes N free device slots before the
stage starts and exports ``CUDA_VISIBLE_DEVICES`` for the stage and its children
(``accelerate launch`` workers, vLLM's tensor-parallel workers).

A slot is a lock file ``<lock_dir>/gpu<i>.lock`` held with ``fcntl.flock``: the kernel drops
the lock when the process ends, even when it is killed, so a crashed job never leaves a
slot taken. Under a scheduler that already assigned devices (``CUDA_VISIBLE_DEVICES`` set,
e.g. Slurm with --gpus) nothing is changed.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from pathlib import Path

from tunesafe.errors import TunesafeError

DEFAULT_LOCK_DIR = "/tmp/tunesafe-gpu-locks"
_HELD: list = []  # open lock files: the slots live as long as this process


def node_gpu_count(environ=os.environ) -> int:
    """Devices on this node: $TUNESAFE_NODE_GPUS, else `nvidia-smi -L`, else 0."""
    if environ.get("TUNESAFE_NODE_GPUS"):
        return int(environ["TUNESAFE_NODE_GPUS"])
    if shutil.which("nvidia-smi"):
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
        if out.returncode == 0:
            return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))
    return 0


def acquire(n: int, total: int, lock_dir: str | Path, timeout: float = 3600.0, poll: float = 1.0) -> list[int]:
    """Take n of the devices 0..total-1 that no other process holds; wait up to timeout
    seconds for them (the `gpu` resource cap makes waiting rare). Returns the device ids."""
    if n < 1:
        return []
    if n > total:
        raise TunesafeError(f"--gpus {n}: this node has {total} GPU(s) (TUNESAFE_NODE_GPUS or nvidia-smi -L)")
    lock_dir = Path(lock_dir)
    lock_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    while True:
        taken = []
        for device in range(total):
            handle = open(lock_dir / f"gpu{device}.lock", "a+")  # noqa: SIM115 - held until exit
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            taken.append((device, handle))
            if len(taken) == n:
                _HELD.extend(h for _, h in taken)
                return [d for d, _ in taken]
        for _, handle in taken:  # not enough free: give back what we took, wait, retry
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
        if time.monotonic() >= deadline:
            raise TunesafeError(f"no {n} free GPU slot(s) in {lock_dir} after {timeout:.0f} s")
        time.sleep(poll)


def release() -> None:
    """Give back every slot this process holds (normally the process exit does it)."""
    while _HELD:
        handle = _HELD.pop()
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def assign(n: int | None, environ=os.environ) -> str | None:
    """Set CUDA_VISIBLE_DEVICES for a job that holds n GPUs; returns its value, or None when
    nothing was changed (n unset or 0, or a scheduler already chose the devices)."""
    if not n or "CUDA_VISIBLE_DEVICES" in environ:
        return None
    devices = acquire(n, node_gpu_count(environ), environ.get("TUNESAFE_GPU_LOCKS", DEFAULT_LOCK_DIR))
    environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(d) for d in devices)
    return environ["CUDA_VISIBLE_DEVICES"]
