"""A private S3-compatible server for the object-storage tests: moto's server mode
(`moto_server`, from moto[server]) started once per test session on a free port.

Use the `s3` fixture (it implies the `s3` marker of tests/realservers.py): each test
gets its own empty bucket, and the default storage (STORAGES["default"]) of the test is
config.s3storage.S3Storage pointed at it, as production is with FILE_STORAGE and the
AWS_* variables.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from . import realservers
from .redis_process import free_port

ACCESS_KEY = "testing"
SECRET_KEY = "testing"  # moto accepts any key
REGION = "us-east-1"


def moto_server_program() -> str | None:
    beside = Path(sys.executable).parent / "moto_server"  # the venv's entry point
    return str(beside) if beside.exists() else shutil.which("moto_server")


class MotoServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        program = moto_server_program()
        assert program is not None
        self.proc = subprocess.Popen(  # noqa: S603 - our venv's program, fixed arguments
            [program, "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "1"},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if realservers._answers(self.url, timeout=0.2) is None:
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.proc.returncode}")
            time.sleep(0.1)
        raise RuntimeError(f"moto_server on {self.port} did not answer")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )


@dataclass
class Bucket:
    server: MotoServer
    name: str

    def client(self):
        return self.server.client()

    def keys(self) -> list[str]:
        listed = self.client().list_objects_v2(Bucket=self.name)
        return sorted(o["Key"] for o in listed.get("Contents", []))

    def get(self, key: str) -> bytes:
        return self.client().get_object(Bucket=self.name, Key=key)["Body"].read()

    def acl_grants(self, key: str) -> list[dict]:
        return self.client().get_object_acl(Bucket=self.name, Key=key)["Grants"]

    def options(self) -> dict:
        return {
            "bucket_name": self.name,
            "endpoint_url": self.server.url,
            "region_name": REGION,
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "addressing_style": "path",
        }


@pytest.fixture(scope="session")
def moto_server():
    realservers.require("s3")
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture
def s3(moto_server, settings):
    """An empty bucket of its own, and the default storage of this test on it."""
    name = f"helpdesk-{uuid.uuid4().hex[:12]}"
    moto_server.client().create_bucket(Bucket=name)
    bucket = Bucket(moto_server, name)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "config.s3storage.S3Storage", "OPTIONS": bucket.options()},
    }
    return bucket
