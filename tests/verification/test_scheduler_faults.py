"""Hostile peers at the scheduler address (verification.store.execution): a host that accepts and never answers, an
HTTP server, random bytes, a refused port, the address from the environment, and a scheduler lost mid-run.

Each ends in exit status 2 with one line naming the address and where it came from (``--scheduler`` or
``DIFFGEN_SCHEDULER``), in seconds rather than never; a lost scheduler leaves every result that arrived
stored, and the rerun computes only the rest.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import CancelledError
from pathlib import Path

import dask
import distributed  # noqa: F401 - imported before any dask.config.set, which would drop its defaults on exit
import pytest

import verification.cli.command
import verification.store.runner
from empirical.measure import MeasureConfig
from verification.store.cache import ResultCache
from verification.cli import main
from verification.store.execution import Executor
from verification.store.runner import Runner

ROOT = Path(__file__).resolve().parents[2]


class Peer:
    """A TCP server on 127.0.0.1 that accepts every connection and answers as ``mode`` says:
    "silent" (never), "http" (reads the request, sends an HTTP 400), "bytes" (sends 64 random bytes)."""

    def __init__(self, mode: str) -> None:
        self.mode, self.conns = mode, []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.address = f"tcp://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            try:
                if self.mode == "http":
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                elif self.mode == "bytes":
                    conn.sendall(os.urandom(64))
            except OSError:  # the client gave up first
                pass

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def peer(request):
    p = Peer(request.param)
    yield p
    p.close()


def run(capsys, argv):
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("peer", ["silent", "http", "bytes"], indirect=True)
def test_report_against_a_peer_that_is_not_a_scheduler_exits_2_in_seconds(capsys, tmp_path, peer):
    """Dask's connect timeout lowered to 2 s (the user's own knob, ``distributed.comm.timeouts.connect``); the
    default (10 s) is run as a separate process below."""
    started = time.monotonic()
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        rc, out, err = run(capsys, ["report", "--scheduler", peer.address, "--quick", "--out", str(tmp_path)])
    assert time.monotonic() - started < 15
    assert rc == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"diffgen: error: --scheduler: cannot reach a Dask scheduler at '{peer.address}'")
    assert "Traceback" not in err and not (tmp_path / "report.md").exists()


@pytest.mark.slow
@pytest.mark.parametrize("peer", ["silent", "http"], indirect=True)
def test_the_cli_with_its_default_timeout_exits_2_within_60_s(tmp_path, peer):
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "verification.cli", "report", "--scheduler", peer.address, "--quick",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert time.monotonic() - started < 60
    assert proc.returncode == 2 and proc.stdout == "" and proc.stderr.count("\n") == 1, proc.stderr
    assert "--scheduler: cannot reach a Dask scheduler" in proc.stderr


def test_the_address_from_the_environment_is_blamed_on_the_variable(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFGEN_SCHEDULER", "tcp://127.0.0.1:1")  # nothing listens on port 1
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        rc, out, err = run(capsys, ["report", "--quick", "--out", str(tmp_path)])
    assert rc == 2 and err.count("\n") == 1
    assert err.startswith("diffgen: error: DIFFGEN_SCHEDULER: cannot reach a Dask scheduler at 'tcp://127.0.0.1:1'")
    assert "--scheduler" not in err


# ---- a scheduler lost mid-run ----

SWEEP = [MeasureConfig(n=8, m=8, taus=(1.0, 100.0), kl=("K1", "K2"), m_ref_factor=0, seed=s) for s in range(6)]


def _report_like_build(store_dir: Path):
    """A stand-in for report.build with its structure (Executor, Runner, store under DIR/.cache) and a small sweep."""
    def build(scale, out, show_progress, execution, store, sections=None):
        with Executor(execution) as executor:
            Runner(ResultCache(store or out / ".cache"), False, executor).run_all(SWEEP, "sweep")
        return {"checks": []}
    return build


class _Future:
    def __init__(self, key, value):
        self.key, self.value = key, value

    def result(self):
        if isinstance(self.value, BaseException):
            raise self.value
        return self.value


class _LosingClient:
    """Runs the first ``keep`` tasks, then every future is cancelled as distributed cancels them when the
    connection to the scheduler is lost (``FutureCancelledError``, a CancelledError)."""

    def __init__(self, keep: int) -> None:
        self.keep, self.submitted = keep, 0

    def submit(self, fn, *args, key, **kwargs):
        self.submitted += 1
        value = fn(*args) if self.submitted <= self.keep else CancelledError(f"{key} cancelled: scheduler-connection-lost")
        return _Future(key, value)

    def close(self, **kwargs):
        pass


def test_a_lost_scheduler_exits_2_and_the_rerun_reuses_what_arrived(capsys, tmp_path, monkeypatch):
    """The code path of the real test below, in-process: Executor.map sees the cancelled futures, the runner
    reports how many results it stored, the CLI exits 2 with one line; the serial rerun computes only the rest."""
    import distributed

    monkeypatch.setattr(distributed, "as_completed", lambda futures: iter(futures))

    def enter(self):
        self.client = _LosingClient(keep=2)
        return self

    monkeypatch.setattr(Executor, "__enter__", enter)
    monkeypatch.setattr(verification.cli.command, "build", _report_like_build(tmp_path))
    rc, out, err = run(capsys, ["report", "--scheduler", "tcp://127.0.0.1:8786", "--quick", "--out", str(tmp_path),
                                "--no-progress"])
    assert rc == 2 and out == "" and err.count("\n") == 1
    assert "lost the Dask scheduler at tcp://127.0.0.1:8786 after 2 of 6 tasks" in err
    assert "the 2 results that arrived are stored" in err and "rerun the same command" in err
    _rerun_computes_only_the_rest(tmp_path / ".cache", monkeypatch, stored=2)


def _rerun_computes_only_the_rest(store: Path, monkeypatch, stored: int) -> None:
    computed = []
    real = verification.store.runner.measure

    def counted(config):
        computed.append(config.seed)
        return real(config)

    monkeypatch.setattr(verification.store.runner, "measure", counted)
    results = Runner(ResultCache(store), False).run_all(SWEEP, "rerun")
    assert len(computed) == len(SWEEP) - stored and [r.config for r in results] == SWEEP


def _start(args, log, env):
    return subprocess.Popen([sys.executable, "-m", *args], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, env=env, cwd=ROOT)


@pytest.mark.slow
def test_killing_a_real_scheduler_mid_run_exits_2_and_keeps_every_arrived_result(capsys, tmp_path, monkeypatch):
    """A scheduler and a worker as separate processes; the scheduler is SIGKILLed once two results are stored.
    The CLI exits 2 with one line, every stored entry is valid, and the rerun computes only the others."""
    file, store = tmp_path / "scheduler.json", tmp_path / "out" / ".cache"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = open(tmp_path / "dask.log", "w")
    scheduler = _start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                        "--scheduler-file", str(file)], log, env)
    procs = [scheduler]
    try:
        deadline = time.time() + 60
        while not file.exists() and time.time() < deadline:
            time.sleep(0.2)
        address = json.loads(file.read_text())["address"]
        procs.append(_start(["distributed.cli.dask_worker", address, "--nthreads", "1", "--no-dashboard",
                             "--host", "127.0.0.1"], log, env))
        put, killed = ResultCache.put, []

        def put_then_kill(self, config, result):
            stored = put(self, config, result)
            if len(list(store.glob("*/*.json"))) >= 2 and not killed:
                os.killpg(scheduler.pid, signal.SIGKILL)
                killed.append(True)
            return stored

        monkeypatch.setattr(ResultCache, "put", put_then_kill)
        monkeypatch.setattr(verification.cli.command, "build", _report_like_build(tmp_path))
        with dask.config.set({"distributed.comm.timeouts.connect": "30s"}):
            rc, out, err = run(capsys, ["report", "--scheduler", address, "--quick", "--out", str(tmp_path / "out"),
                                        "--no-progress"])
        assert killed and rc == 2 and out == "" and err.count("\n") == 1, err
        assert f"lost the Dask scheduler at {address}" in err and "Traceback" not in err
        stored = len(list(store.glob("*/*.json")))
        assert 2 <= stored < len(SWEEP)
        monkeypatch.setattr(ResultCache, "put", put)
        _rerun_computes_only_the_rest(store, monkeypatch, stored)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        log.close()
