"""The first run's helpers: `make run` picks the first free port from PORT, and the
Makefile uses whichever Python 3.11 or newer the machine has."""

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from helpdesk.devport import free_port, main, wait_listening

ROOT = Path(__file__).resolve().parents[2]


def test_a_free_port_is_kept_and_a_taken_one_skipped(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert wait_listening(port, seconds=1)
        assert free_port(port) > port
        assert main([str(port)]) == 0
        out, err = capsys.readouterr()
        assert int(out) > port and f"Port {port} is in use" in err
    assert free_port(port) == port  # free again


def _fake_python(folder: Path, name: str, version_ok: bool) -> None:
    script = folder / name
    script.write_text(f"#!/bin/sh\nexit {0 if version_ok else 1}\n")
    script.chmod(0o755)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize(
    ("fakes", "expected"),
    [
        ({"python3": False, "python3.13": True}, "python3.13"),  # python3 too old
        ({"python3": True, "python3.12": True}, "python3.12"),  # a version the lock knows
        ({"python3": True}, "python3"),  # any other at least 3.11
    ],
)
def test_the_makefile_takes_the_first_python_of_at_least_3_11(tmp_path, fakes, expected):
    for name, ok in fakes.items():
        _fake_python(tmp_path, name, ok)
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"PYTHON", "SECRET_KEY", "MAKEFLAGS"}},
        "PATH": str(tmp_path),  # only the fakes
        "ENV_FILE": str(tmp_path / ".env"),
    }
    # -n: print what secret-key would run (it calls $(PYTHON)), run nothing
    out = subprocess.run(  # noqa: S603 - our Makefile, fixed arguments
        [shutil.which("make"), "-n", "secret-key"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"key=$({expected} -c" in out
