"""How fast `manage.py import_osticket` brings tickets over: budget 1,000 tickets a second
with five thread entries each, into PostgreSQL (1,000,000 in under 20 minutes).

    python bench/import_osticket.py --tickets 20000

Builds an osTicket-shaped database in MariaDB (`ost_bench`, from tests/osticket/schema.sql)
with N tickets, N/4 users, five thread entries per ticket (messages with their
Message-IDs, responses, notes) and a `created` event each, written with INSERT ... SELECT
over MariaDB's sequence tables; then imports it into a fresh PostgreSQL database
(`helpdesk_bench_import`, dropped and created again) and prints the time and the rate.
MariaDB: OSTICKET_TEST_MARIADB or --mariadb (default mysql://root@127.0.0.1:3306).
"""

import argparse
import io
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG = "postgres://postgres@127.0.0.1:5432/helpdesk_bench_import"
SOURCE_DB = "ost_bench"


def mariadb(url: str, database: str | None = None):
    import pymysql

    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        database=database,
        autocommit=True,
        charset="utf8mb4",
    )


def build_source(url: str, tickets: int, entries: int) -> str:
    """The osTicket database, returned as its --source address."""
    from tests.osticket.factories import T0, OsTicket

    with mariadb(url) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{SOURCE_DB}`")
        cur.execute(f"CREATE DATABASE `{SOURCE_DB}` CHARACTER SET utf8mb4")
        cur.execute(f"USE `{SOURCE_DB}`")
        cur.execute("SET SESSION sql_mode = ''")
        for statement in (ROOT / "tests/osticket/schema.sql").read_text().split(";\n"):
            lines = [ln for ln in statement.splitlines() if not ln.startswith("--")]
            if "".join(lines).strip():
                cur.execute("\n".join(lines))
    parts = urlsplit(url)
    source = f"{parts.scheme}://{parts.netloc}/{SOURCE_DB}"
    conn = mariadb(url, SOURCE_DB)
    db = OsTicket(conn, SOURCE_DB, source).seed()
    ids, users, t0 = db.ids, max(1, tickets // 4), T0.strftime("%Y-%m-%d %H:%M:%S")
    agent = db.staff("bench", "bench@example.com")
    statements = [
        f"INSERT INTO ost_user (id, org_id, default_email_id, status, name, created, updated)"
        f" SELECT seq, 0, seq, 0, CONCAT('User ', seq), '{t0}', '{t0}' FROM seq_1_to_{users}",
        f"INSERT INTO ost_user_email (id, user_id, flags, address)"
        f" SELECT seq, seq, 0, CONCAT('user', seq, '@bench.example') FROM seq_1_to_{users}",
        f"INSERT INTO ost_ticket (ticket_id, number, user_id, status_id, dept_id, staff_id, source,"
        f" ip_address, isanswered, est_duedate, lastupdate, created, updated)"
        f" SELECT seq, 1000000 + seq, 1 + seq % {users}, {ids['status:Open']}, {ids['dept']},"
        f" IF(seq % 2, {agent}, 0), 'Email', '192.0.2.1', seq % 2,"
        f" '{t0}' + INTERVAL seq SECOND + INTERVAL 18 HOUR, '{t0}' + INTERVAL seq SECOND,"
        f" '{t0}' + INTERVAL seq SECOND, '{t0}' + INTERVAL seq SECOND FROM seq_1_to_{tickets}",
        f"INSERT INTO ost_thread (id, object_id, object_type, lastmessage, created)"
        f" SELECT seq, seq, 'T', '{t0}' + INTERVAL seq SECOND, '{t0}' + INTERVAL seq SECOND"
        f" FROM seq_1_to_{tickets}",
        f"INSERT INTO ost_form_entry (id, form_id, object_id, object_type, created, updated)"
        f" SELECT 100 + seq, {ids['form:ticket']}, seq, 'T', '{t0}', '{t0}' FROM seq_1_to_{tickets}",
        f"INSERT INTO ost_form_entry_values (entry_id, field_id, value, value_id)"
        f" SELECT 100 + seq, {ids['field:subject']}, CONCAT('Benchmark ticket ', seq), NULL"
        f" FROM seq_1_to_{tickets}",
        f"INSERT INTO ost_form_entry_values (entry_id, field_id, value, value_id)"
        f" SELECT 100 + seq, {ids['field:priority']}, 'Normal', {ids['priority:normal']}"
        f" FROM seq_1_to_{tickets}",
        f"INSERT INTO ost_thread_entry (id, thread_id, staff_id, user_id, type, poster, source,"
        f" body, format, created, updated)"
        f" SELECT seq, 1 + (seq - 1) DIV {entries}, IF(seq % 3 = 1, 0, {agent}),"
        f" IF(seq % 3 = 1, 1 + ((seq - 1) DIV {entries}) % {users}, 0),"
        f" ELT(1 + seq % 3, 'N', 'M', 'R'), 'Someone', 'Email',"
        f" CONCAT('<p>Entry ', seq, ' of a benchmark ticket, with <b>some</b> HTML',"
        f" ' and a <a href=\"https://example.com/\">link</a>.</p>'), 'html',"
        f" '{t0}' + INTERVAL seq SECOND, '{t0}' + INTERVAL seq SECOND"
        f" FROM seq_1_to_{tickets * entries}",
        f"INSERT INTO ost_thread_entry_email (thread_entry_id, mid, headers)"
        f" SELECT seq, CONCAT('<m', seq, '@bench.example>'), 'Received: by mx.bench.example'"
        f" FROM seq_1_to_{tickets * entries} WHERE seq % 3 = 1",
        "INSERT INTO ost_event (id, name) VALUES (1, 'created')",
        f"INSERT INTO ost_thread_event (thread_id, thread_type, event_id, staff_id, team_id, dept_id,"
        f" topic_id, username, uid_type, timestamp)"
        f" SELECT seq, 'T', 1, 0, 0, {ids['dept']}, 0, 'SYSTEM', 'S', '{t0}' + INTERVAL seq SECOND"
        f" FROM seq_1_to_{tickets}",
    ]
    started = time.monotonic()
    for sql in statements:
        db.execute(sql)
    print(
        f"osTicket database: {tickets} tickets, {tickets * entries} entries, {users} users "
        f"in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )
    conn.close()
    return source


def fresh_postgres(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 40)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--entries", type=int, default=5, help="thread entries per ticket")
    parser.add_argument(
        "--mariadb", default=os.environ.get("OSTICKET_TEST_MARIADB", "mysql://root@127.0.0.1:3306")
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_IMPORT_DATABASE_URL", PG))
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--profile", help="write a cProfile of the import to this file")
    parser.add_argument(
        "--reuse-source",
        action="store_true",
        help=f"import the `{SOURCE_DB}` database an earlier run built (same --tickets)",
    )
    args = parser.parse_args()
    if args.reuse_source:
        parts = urlsplit(args.mariadb)
        source_url = f"{parts.scheme}://{parts.netloc}/{SOURCE_DB}"
    else:
        source_url = build_source(args.mariadb, args.tickets, args.entries)
    fresh_postgres(args.database_url)

    from helpdesk.importers.osticket.base import Options, Progress
    from helpdesk.importers.osticket.run import run
    from helpdesk.importers.osticket.source import Source, parse_source

    log = io.StringIO()
    profile = None
    if args.profile:
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    started = time.monotonic()
    with Source(parse_source(source_url)) as source:
        report = run(
            source,
            Options(batch_size=args.batch_size, workers=args.workers),
            Progress(log, interactive=False),
        )
    seconds = time.monotonic() - started
    if profile is not None:
        profile.disable()
        profile.dump_stats(args.profile)
    print("\n".join(report.lines()))
    phases = [line for line in log.getvalue().splitlines() if "done" in line]
    print("\n".join(phases), file=sys.stderr)
    rate = args.tickets / seconds
    print(
        f"\n{args.tickets} tickets x {args.entries} entries in {seconds:.1f} s: "
        f"{rate:,.0f} tickets/s (budget 1,000/s; 1,000,000 would take {1e6 / rate / 60:.1f} min)"
    )


if __name__ == "__main__":
    main()
