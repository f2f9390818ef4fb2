"""`make run`'s helpers, without Django: the first free port from the one asked for
(`python -m helpdesk.devport 8000`), and waiting until a server listens on one
(`python -m helpdesk.devport --wait 8000`)."""

import socket
import sys
import time

HOST = "127.0.0.1"
TRIES = 50


def free_port(start: int, host: str = HOST) -> int:
    """`start` when nothing listens there, else the next free port above it."""
    for port in range(start, start + TRIES):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    raise SystemExit(f"no free port in {start}-{start + TRIES - 1} on {host}")


def wait_listening(port: int, host: str = HOST, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--wait":
        return 0 if wait_listening(int(argv[1])) else 1
    start = int(argv[0]) if argv else 8000
    port = free_port(start)
    if port != start:
        print(f"Port {start} is in use; serving on {port}.", file=sys.stderr)
    print(port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
