"""A warm process for the workflow's many short ``tunesafe`` jobs (issue 15).

Most jobs of the toy study spend ~80% of their time importing torch and transformers
(``benchmarks/toy_study.py`` measures it): a generation of 110 prompts is ~1 s of work after
~5 s of imports. When the workflow runs its jobs on this machine, it starts one *server*
that imports the heavy libraries once and then forks a copy of itself for every job. The
job's own ``tunesafe`` command stays what the rule says; it only hands its argument list,
working directory, environment and standard streams (as file descriptors, over a Unix
socket) to the server, waits, and exits with the forked copy's exit status. Each job still
is its own process with its own files, so Snakemake's partial reruns, logs and outputs are
unchanged.

Why this is safe to fork: the server only imports; it never runs a torch operation, starts
a thread pool or touches CUDA, so every fork starts as clean as a new interpreter (torch's
default random state included). The parts of the environment that libraries read at import
(``HF_*``, ``TRANSFORMERS_*``, ``TORCH*``, ``PYTORCH_*``, ``TOKENIZERS_*``) must equal the
server's, otherwise the job runs in its own interpreter as before; the thread count and the
visible GPUs are applied after the fork (``tunesafe.cli.main``). Any failure to reach the
server also falls back to running in the job's own interpreter.

The Snakefile starts the server for local runs (config key ``process_server``) and sets
``TUNESAFE_SERVER`` to its socket for the jobs; remote executors, ``--sdm conda`` and a
missing key run every job in its own interpreter. Snakemake's benchmark files then record
the wall time of each job as before, but CPU time and memory of the small client only.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys

ENV_VAR = "TUNESAFE_SERVER"
# environment variables that libraries read when they are imported: a job whose values
# differ from the server's runs in its own interpreter
IMPORT_TIME_ENV = ("HF_", "HUGGINGFACE_", "TRANSFORMERS_", "TORCH", "PYTORCH_", "TOKENIZERS_", "VLLM_")
PRELOAD = ("torch", "transformers", "transformers.models.llama.modeling_llama", "peft", "safetensors.torch",
           "tokenizers", "datasets", "lm_eval", "pandas", "matplotlib", "tunesafe.weights", "tunesafe.train.sft",
           "tunesafe.generation.hf", "trl.trainer.grpo_trainer")
_LEN = struct.Struct("!Q")
_CODE = struct.Struct("!qi")  # (pid, exit status); pid first with status -1 as "started"


def _import_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(IMPORT_TIME_ENV)}


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("server closed the connection")
        data += chunk
    return data


def delegate(argv: list[str], path: str) -> int | None:
    """Run ``tunesafe argv`` in the server at ``path``; its exit status, or None when the
    server cannot take it (unreachable, or an import-time environment that differs)."""
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(path)
    except OSError:
        return None
    with conn:
        payload = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
        socket.send_fds(conn, [_LEN.pack(len(payload)) + payload], [0, 1, 2])
        try:
            pid, status = _CODE.unpack(_recv_exact(conn, _CODE.size))
        except ConnectionError:
            return None
        if status == -2:  # declined: the job's import-time environment differs
            return None
        forward = lambda signum, frame: os.kill(pid, signum)  # noqa: E731
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, forward)
        try:
            _, status = _CODE.unpack(_recv_exact(conn, _CODE.size))
        except ConnectionError:  # the job's process died without reporting (a crash)
            return 1
        return status


def _run_job(conn: socket.socket, server_env: dict[str, str]) -> int:
    """In the forked child: take the job's streams, directory and environment, run it."""
    head, fds, _, _ = socket.recv_fds(conn, _LEN.size, 3)
    head += _recv_exact(conn, _LEN.size - len(head)) if len(head) < _LEN.size else b""
    request = json.loads(_recv_exact(conn, _LEN.unpack(head)[0]))
    job_env = _import_env(request["env"])
    if job_env != server_env:
        differ = sorted(k for k in {*job_env, *server_env} if job_env.get(k) != server_env.get(k))
        print(f"declined (runs in its own interpreter; {', '.join(differ)} differ): {request['argv']}", flush=True)
        conn.sendall(_CODE.pack(os.getpid(), -2))
        return 0
    print(f"job {os.getpid()}: {request['argv']}", flush=True)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.environ.pop(ENV_VAR, None)  # a job that starts tunesafe itself runs it in-process
    sys.argv = ["tunesafe", *request["argv"]]
    conn.sendall(_CODE.pack(os.getpid(), -1))
    from tunesafe.cli import main

    try:
        status = main(request["argv"])
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:  # print like the interpreter would, then report failure
        import traceback

        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    conn.sendall(_CODE.pack(os.getpid(), status))
    return status


def serve(path: str, parent: int | None = None) -> None:
    """Import the heavy libraries, then fork one child per connection at ``path`` until the
    process ``parent`` (Snakemake) is gone or a SIGTERM arrives."""
    import importlib

    server_env = _import_env(dict(os.environ))  # before the imports, which may set some
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:  # an optional library this environment lacks
            pass
    if os.path.exists(path):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o077)
    listener.bind(path)
    os.umask(old_umask)
    listener.listen(64)
    print(f"serving {path} (pid {os.getpid()})", flush=True)
    listener.settimeout(1.0)
    signal.signal(signal.SIGCHLD, lambda *_: _reap())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while parent is None or _alive(parent):
            try:
                conn, _ = listener.accept()
            except (TimeoutError, InterruptedError):
                continue
            conn.settimeout(None)
            if os.fork() == 0:
                listener.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                try:
                    _run_job(conn, server_env)
                finally:
                    os._exit(0)  # the status went over the socket
            conn.close()
    finally:
        listener.close()
        if os.path.exists(path):
            os.unlink(path)


def _reap() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start(log_path: str, timeout: float = 120.0):
    """Start ``tunesafe serve`` for this process's jobs (the Snakefile's ``onstart``): a
    socket in the temporary directory (short: Unix socket paths have a ~100-byte limit),
    the server's log at ``log_path``, ``TUNESAFE_SERVER`` set in this process's environment
    so the jobs it starts inherit it. Returns the server process, or None when it did not
    come up within ``timeout`` seconds (the jobs then run in their own interpreters)."""
    import subprocess
    import tempfile
    import time

    path = os.path.join(tempfile.gettempdir(), f"tunesafe-{os.getpid()}.sock")
    os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
    with open(log_path, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tunesafe", "serve", "--socket", path,
                                 "--parent", str(os.getpid())],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not os.path.exists(path) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if not os.path.exists(path):
        proc.terminate()
        print(f"tunesafe process server did not start (see {log_path}): every job runs on its own")
        return None
    os.environ[ENV_VAR] = path
    return proc


def stop(proc) -> None:
    """Stop a server from :func:`start` (the Snakefile's ``onsuccess`` / ``onerror``)."""
    os.environ.pop(ENV_VAR, None)
    if proc is not None:
        proc.terminate()
        proc.wait(timeout=30)
