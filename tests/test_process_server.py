"""The warm process server (tunesafe.server): a job run through it behaves like the same
command in its own interpreter (files, streams, exit status, directory), and a job whose
import-time environment differs is not served. Real `tunesafe` commands, real sockets."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

TUNESAFE = shutil.which("tunesafe", path=str(Path(sys.executable).parent)) or "tunesafe"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A `tunesafe serve` process; yields (socket path, its log file)."""
    work = tmp_path_factory.mktemp("server")
    sock, log = Path("/tmp") / f"tunesafe-test-{os.getpid()}.sock", work / "server.log"
    env = {k: v for k, v in os.environ.items() if k != "TUNESAFE_SERVER"}
    with open(log, "w") as out:
        proc = subprocess.Popen([TUNESAFE, "serve", "--socket", str(sock), "--parent", str(os.getpid())],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    for _ in range(1200):
        if sock.exists() or proc.poll() is not None:
            break
        time.sleep(0.1)
    assert sock.exists(), log.read_text()
    yield sock, log
    proc.terminate()
    proc.wait(timeout=30)
    assert not sock.exists()  # removed on the way out


def run(args, cwd, server=None, **env):
    full = {k: v for k, v in os.environ.items() if k != "TUNESAFE_SERVER"}
    full.update(env)
    if server is not None:
        full["TUNESAFE_SERVER"] = str(server)
    return subprocess.run([TUNESAFE, *args], cwd=cwd, env=full, capture_output=True, text=True)


@pytest.fixture
def generations(tmp_path):
    rows = [{"id": str(i), "messages": [{"role": "user", "content": "q"}], "response": r}
            for i, r in enumerate(["I'm sorry, I cannot help with that.", "Sure, here it is.", "Sure."])]
    (tmp_path / "gen.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


def served(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.startswith("job ")]


def test_a_served_job_writes_the_same_file_in_its_own_directory(server, generations):
    sock, log = server
    before = len(served(log))
    done = run(["evaluate", "asr", "--generations", "gen.jsonl", "--out", "m.json"], generations, sock)
    assert done.returncode == 0, done.stderr
    assert len(served(log)) == before + 1 and "'asr'" in served(log)[-1]
    assert json.loads((generations / "m.json").read_text())["asr"] == pytest.approx(2 / 3)  # 2 of 3 comply
    alone = run(["evaluate", "asr", "--generations", "gen.jsonl", "--out", "alone.json"], generations)
    assert alone.returncode == 0
    assert (generations / "m.json").read_text() == (generations / "alone.json").read_text()


def test_a_served_job_reports_its_error_and_exit_status_on_its_own_streams(server, tmp_path):
    sock, log = server
    done = run(["evaluate", "asr", "--generations", "missing.jsonl", "--out", "m.json"], tmp_path, sock)
    assert done.returncode == 2
    assert "missing.jsonl" in done.stderr and done.stderr.count("not found") == 1  # ran once, in the fork
    assert not (tmp_path / "m.json").exists()
    listing = run(["--help"], tmp_path, sock)
    assert listing.returncode == 0 and "usage: tunesafe" in listing.stdout


def test_a_job_with_another_import_time_environment_runs_on_its_own(server, generations):
    sock, log = server
    before = len(served(log))
    done = run(["evaluate", "asr", "--generations", "gen.jsonl", "--out", "m.json"], generations, sock,
               HF_HOME=str(generations / "hf"))
    assert done.returncode == 0, done.stderr
    assert len(served(log)) == before
    last = log.read_text().splitlines()[-1]
    assert last.startswith("declined") and "HF_HOME differ" in last
    assert json.loads((generations / "m.json").read_text())["n"] == 3


def test_no_server_at_the_socket_runs_the_job_on_its_own(tmp_path, generations):
    done = run(["evaluate", "asr", "--generations", "gen.jsonl", "--out", "m.json"], generations,
               tmp_path / "nobody.sock")
    assert done.returncode == 0, done.stderr
    assert json.loads((generations / "m.json").read_text())["n"] == 3
