"""Benchmark of the email import path on PostgreSQL: messages per second through
`helpdesk.mail.inbound.ingest` (what the pipe command, the fetcher and the API call).

    .venv/bin/python bench/ingest.py [--messages 2000] [--workers 1] [--notify broker|eager]
                                     [--database-url URL] [--redis-url URL]

1. Drops and recreates a dedicated database (`hd_mail_bench` by default, never a
   developer's data) and migrates it.
2. Generates the messages in memory: 60 % new tickets from 300 senders (plain text),
   25 % replies threaded by In-Reply-To to an earlier message (with a quoted history to
   strip), 10 % HTML with an inline image (sanitised, stored as an attachment), 5 %
   auto-replies (imported, never answered).
3. Imports them one by one, as an MTA pipe would, in `--workers` processes at once (an
   MTA runs several pipes; Celery runs several fetch workers). After each commit the
   signals run; the notification tasks either go to the Redis broker (`--notify broker`,
   production: a Celery worker renders and sends them later) or run inline
   (`--notify eager`: rendering, storing and handing every mail to Django's in-memory
   email backend inside the measured time).
4. Prints messages per second, the median and p95 per message, and the outcomes.

`--prepared` forces psycopg's server-side binding with prepared statements (threshold
5). The project's default is binding without preparing (DATABASE_SERVER_SIDE_BINDING on,
DATABASE_PREPARE_THRESHOLD off: docs/architecture.md says why); with preparing,
PostgreSQL parses each repeated query once per connection and may stop planning it.

Budget (issue 4): at least 100 messages per second on this machine with PostgreSQL.
"""

import argparse
import base64
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/hd_mail_bench"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def setup(url: str, notify: str, redis_url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    sys.path.insert(0, str(ROOT))
    os.environ.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="config.settings",
        EMAIL_URL="memorymail://",
        CONN_MAX_AGE="600",
        LOG_LEVEL="WARNING",
    )
    if notify == "eager":
        os.environ.pop("REDIS_URL", None)
        os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    else:
        os.environ["REDIS_URL"] = redis_url
        os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def baseline() -> None:
    from helpdesk.mail.models import Mailbox
    from routing.models import Department
    from tickets.models import HelpdeskSettings

    dept = Department.objects.create(name="Support", email="support@helpdesk.test")
    config = HelpdeskSettings.load()
    config.default_department = dept
    config.save()
    Mailbox.objects.create(
        name="Support", address="support@helpdesk.test", department=dept, host="localhost",
        username="support", password="x",
    )  # fmt: skip


def _text(i: int, sender: str, subject: str, body: str, extra: str = "") -> bytes:
    return (
        f"From: Client {sender} <{sender}@clients.test>\r\nTo: support@helpdesk.test\r\n"
        f"Subject: {subject}\r\nMessage-ID: <bench-{i}@clients.test>\r\n{extra}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()


def _html(i: int, sender: str) -> bytes:
    image = base64.encodebytes(PNG).decode()
    return (
        f"From: {sender} <{sender}@clients.test>\r\nTo: support@helpdesk.test\r\n"
        f"Subject: Screenshot {i}\r\nMessage-ID: <bench-{i}@clients.test>\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary="r"\r\n\r\n'
        "--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        f'<p onclick="x()">Error number {i}:</p><script>alert(1)</script>'
        f'<img src="cid:img{i}@clients.test">\r\n'
        f"--r\r\nContent-Type: image/png\r\nContent-ID: <img{i}@clients.test>\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{image}--r--\r\n"
    ).encode()


def messages(n: int) -> list[bytes]:
    out, new_ids = [], []
    for i in range(n):
        sender, kind = f"c{i % 300}", i % 20
        if kind < 12 or not new_ids:
            body = f"Message {i}: the printer on floor {i % 7} is broken again.\n" * 5
            out.append(_text(i, sender, f"Problem {i}", body))
            new_ids.append((f"<bench-{i}@clients.test>", sender))
        elif kind < 17:
            parent, psender = new_ids[(i * 7) % len(new_ids)]
            body = f"Reply {i}: still broken.\n\nOn Mon, Support wrote:\n> quoted history\n"
            extra = f"In-Reply-To: {parent}\r\nReferences: {parent}\r\n"
            out.append(_text(i, psender, "Re: Problem", body, extra))
        elif kind < 19:
            out.append(_html(i, sender))
        else:
            extra = "Auto-Submitted: auto-replied\r\n"
            out.append(_text(i, sender, "Out of office", "Back on Monday.", extra))
    return out


def _work(batch: list[bytes], queue) -> None:
    from django.db import connections

    from helpdesk.mail.inbound import ingest

    connections.close_all()  # a forked worker opens its own connection
    outcomes: dict[str, int] = {}
    timings = []
    for raw in batch:
        t0 = time.perf_counter()
        status = ingest(raw, channel="email").status
        timings.append(time.perf_counter() - t0)
        outcomes[str(status)] = outcomes.get(str(status), 0) + 1
    queue.put((outcomes, timings))


def run(n: int, workers: int) -> None:
    import multiprocessing

    from django.db import connection, connections

    from helpdesk.mail.inbound import ingest

    for raw in messages(20):  # warm-up: imports, templates, the first tickets
        ingest(raw.replace(b"<bench-", b"<warm-"), channel="email")
    batch = messages(n)
    # replies must follow their ticket: each worker takes every n-th message in order
    slices = [batch[i::workers] for i in range(workers)]
    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_work, args=(part, queue)) for part in slices]
    start = time.perf_counter()
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    elapsed = time.perf_counter() - start
    for p in procs:
        p.join()
    outcomes: dict[str, int] = {}
    timings = sorted(t for _, ts in results for t in ts)
    for found, _ in results:
        for key, count in found.items():
            outcomes[key] = outcomes.get(key, 0) + count
    prepared = connection.settings_dict["OPTIONS"].get("server_side_binding", False)
    print(
        f"database: {connection.vendor} {connection.settings_dict['NAME']}, "
        f"workers: {workers}, prepared statements: {prepared}, notifications: "
        f"{'eager' if os.environ.get('CELERY_TASK_ALWAYS_EAGER') == '1' else 'broker'}"
    )
    print(f"messages: {n} in {elapsed:.2f} s = {n / elapsed:.0f} messages/s")
    print(
        f"per message: median {statistics.median(timings) * 1000:.1f} ms, "
        f"p95 {timings[int(len(timings) * 0.95)] * 1000:.1f} ms"
    )
    print(f"outcomes: {dict(sorted(outcomes.items()))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--notify", choices=["broker", "eager"], default="broker")
    parser.add_argument(
        "--prepared",
        action="store_true",
        help="force server-side binding with prepared statements (the project's default prepares nothing)",
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_MAIL_REDIS_URL", "redis://127.0.0.1:6379/4")
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_MAIL_DATABASE_URL", DEFAULT_DB)
    )
    args = parser.parse_args()
    setup(args.database_url, args.notify, args.redis_url)
    baseline()
    if args.prepared:  # PostgreSQL plans each repeated query once per connection
        from django.db import connection

        connection.close()
        connection.settings_dict["OPTIONS"].update(server_side_binding=True, prepare_threshold=5)
    try:
        run(args.messages, args.workers)
    finally:
        if args.notify == "broker":  # nobody consumes the queued notifications: drop them
            from config.celery import app

            app.control.purge()


if __name__ == "__main__":
    main()
