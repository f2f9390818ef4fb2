"""Time the reports at scale (issue 16).

    .venv/bin/python bench/reports.py [--tickets 1000000] [--days 365] [--runs 20]
                                      [--derive 2000] [--rollup 30]

Seeds, into its own PostgreSQL database `helpdesk_bench_reports`
(REPORTS_BENCH_DATABASE_URL to change it), the reports' facts of `--tickets` tickets
opened over the last `--days` days, set-based (INSERT ... SELECT over generate_series,
100,000 tickets per statement): per ticket an opening, an assignment (7 in 10), a first
response (8 in 10), a second response (4 in 10) and a close (9 in 10, with its business
time and SLA outcome), over 12 departments, 60 agents (5 per department), 8 teams, 20
topics and 5 channels. Then:

- sums every day of the range again (`rollup.day_rollup`, what the report job does for
  a marked day), timing each: budget p50 under 1 s for one day;
- requests the 90-day report by agent (`/scp/reports/?dimension=agent&period=90`) and
  its CSV export through Django's test client, as a helpdesk admin (every department)
  and as a lead with stats.agents in half of them: budget p50 under 200 ms;
- with `--derive N`, loads N real tickets (bench/bulk.load_tickets: a first message
  each) and times deriving their facts from their history (`facts.facts_rebuild`).

Prints the median and the 95th percentile of each, and the SQL statements per request.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bulk import setup_django

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/helpdesk_bench_reports"
CHUNK = 100_000
DEPTS, AGENTS_PER_DEPT, TEAMS, TOPICS = 12, 5, 8, 20
CHANNELS = ["web", "email", "api", "phone", "other"]

FACTS_SQL = """
INSERT INTO helpdesk_reports_fact
    (ticket_id, kind, at, day, department_id, topic_id, agent_id, team_id, channel,
     seconds, first, met_sla, backlog)
SELECT s.t, k.kind, s.opened + k.after, (s.opened + k.after)::date,
       (%(depts)s::bigint[])[1 + s.t %% 12], (%(topics)s::bigint[])[1 + s.t %% 20],
       CASE WHEN k.tag = 'opened' THEN NULL
            ELSE (%(agents)s::bigint[])[1 + (s.t %% 12) * 5 + (s.t / 12) %% 5] END,
       (%(teams)s::bigint[])[1 + s.t %% 8], (%(channels)s::text[])[1 + s.t %% 5],
       CASE WHEN k.tag = 'closed' THEN s.resolution
            WHEN k.tag LIKE 'response%%' THEN (s.t * 37) %% 28800 END,
       k.tag = 'response1', CASE WHEN k.tag = 'closed' THEN s.resolution < 28800 END,
       k.backlog
FROM (
    SELECT t,
           now() - ((t * 7919) %% (%(days)s * 86400)) * interval '1 second' AS opened,
           (t * 104729) %% 172800 AS resolution
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS t
) s
CROSS JOIN LATERAL (VALUES
    ('opened', 'opened', interval '0', 1),
    ('assigned', 'assigned', interval '10 minutes', 0),
    ('response1', 'response', interval '1 hour', 0),
    ('response2', 'response', interval '5 hours', 0),
    ('closed', 'closed', ((s.t * 104729) %% 172800) * interval '1 second', -1)
) AS k(tag, kind, after, backlog)
WHERE k.tag = 'opened'
   OR (k.tag = 'assigned' AND s.t %% 10 < 7)
   OR (k.tag = 'response1' AND s.t %% 10 < 8)
   OR (k.tag = 'response2' AND s.t %% 10 < 4)
   OR (k.tag = 'closed' AND s.t %% 10 < 9 AND s.opened + k.after < now())
"""


def cast():
    """Departments, agents, teams, topics (idempotent), a helpdesk admin and a lead."""
    from accounts.models import DepartmentAccess, Role, User
    from routing.models import Department, HelpTopic, Team

    role = Role.objects.get(name="All Access")
    depts = [Department.objects.get_or_create(name=f"Reports {i}")[0] for i in range(DEPTS)]
    agents = []
    for d, dept in enumerate(depts):
        for a in range(AGENTS_PER_DEPT):
            agents.append(
                User.objects.get_or_create(
                    username=f"rep{d}_{a}",
                    defaults={"email": f"rep{d}_{a}@bench.test", "name": f"Agent {d}.{a}",
                              "is_agent": True, "department": dept, "role": role},
                )[0]
            )  # fmt: skip
    teams = [Team.objects.get_or_create(name=f"Reports team {i}")[0] for i in range(TEAMS)]
    topics = [HelpTopic.objects.get_or_create(name=f"Reports topic {i}")[0] for i in range(TOPICS)]
    admin, _ = User.objects.get_or_create(
        username="rep_admin",
        defaults={"email": "rep_admin@bench.test", "is_agent": True, "is_helpdesk_admin": True,
                  "department": depts[0], "role": role},
    )  # fmt: skip
    lead, made = User.objects.get_or_create(
        username="rep_lead",
        defaults={"email": "rep_lead@bench.test", "is_agent": True, "department": depts[0],
                  "role": role, "permissions": ["stats.agents"]},
    )  # fmt: skip
    if made:
        for dept in depts[1 : DEPTS // 2]:
            DepartmentAccess.objects.create(agent=lead, department=dept, role=role)
    return depts, agents, teams, topics, admin, lead


def seed(n: int, days: int, ids: dict) -> int:
    from django.db import connection, transaction

    from helpdesk.reports.models import Fact

    have = Fact.objects.filter(kind="opened").count()
    started = time.perf_counter()
    for lo in range(have + 1, n + 1, CHUNK):
        hi = min(n, lo + CHUNK - 1)
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(FACTS_SQL, {**ids, "lo": lo, "hi": hi, "days": days})
        print(f"  facts of tickets {lo:,}..{hi:,}", flush=True)
    if n > have:
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE helpdesk_reports_fact")
        print(f"seeded {n - have:,} tickets' facts in {time.perf_counter() - started:.0f} s")
    return n - have


def rollup_all(days: int) -> list[float]:
    import datetime as dt

    from django.db import connection

    from helpdesk.reports.rollup import day_rollup

    today = dt.datetime.now(dt.UTC).date()
    timings = []
    for n in range(days + 3):
        started = time.perf_counter()
        day_rollup(today + dt.timedelta(days=2) - dt.timedelta(days=n))
        timings.append(time.perf_counter() - started)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE helpdesk_reports_dailystat")
    return timings


def pcts(timings: list[float]) -> tuple[float, float]:
    ordered = sorted(timings)
    return statistics.median(ordered), ordered[
        min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))
    ]


def measure(client, url: str, runs: int) -> dict:
    from django.db import connection

    def get():
        response = client.get(url, secure=True)
        assert response.status_code == 200, (url, response.status_code)
        if response.streaming:
            b"".join(response.streaming_content)

    for _ in range(3):
        get()
    statements = []
    with connection.execute_wrapper(lambda ex, sql, *a: statements.append(sql) or ex(sql, *a)):
        get()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        get()
        timings.append((time.perf_counter() - started) * 1000)
    p50, p95 = pcts(timings)
    return {"p50": p50, "p95": p95, "queries": len(statements)}


def derive(n: int) -> None:
    from bench.bulk import load_tickets
    from helpdesk.reports.facts import facts_rebuild
    from tickets.models import Ticket

    load_tickets(n, verbose=False)
    ids = list(Ticket.objects.order_by("pk").values_list("pk", flat=True)[:n])
    started = time.perf_counter()
    facts_rebuild(ids)
    took = time.perf_counter() - started
    print(f"derived the facts of {len(ids):,} real tickets in {took:.2f} s "
          f"({len(ids) / took:,.0f} tickets/s)")  # fmt: skip


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--derive", type=int, default=0)
    parser.add_argument(
        "--rollup", type=int, default=0, help="sum the last N days again and time each"
    )
    args = parser.parse_args()
    os.environ.setdefault("CONN_MAX_AGE", "60")
    setup_django(os.environ.get("REPORTS_BENCH_DATABASE_URL", DEFAULT_DB))

    from django.test import Client

    from helpdesk.reports.models import DailyStat, Fact

    depts, agents, teams, topics, admin, lead = cast()
    ids = {
        "depts": [d.pk for d in depts],
        "agents": [a.pk for a in agents],
        "teams": [t.pk for t in teams],
        "topics": [t.pk for t in topics],
        "channels": CHANNELS,
    }
    print(f"seeding the facts of up to {args.tickets:,} tickets over {args.days} days...")
    added = seed(args.tickets, args.days, ids)
    if added or not DailyStat.objects.exists() or args.rollup:
        timings = rollup_all(args.rollup or args.days)
        p50, p95 = pcts(timings)
        print(f"day rollup ({len(timings)} days): p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
              f"max {max(timings) * 1000:.0f} ms  (budget: under 1 s)")  # fmt: skip
    print(f"{Fact.objects.count():,} facts, {DailyStat.objects.count():,} daily rows")
    if args.derive:
        derive(args.derive)

    pages = {
        "report by agent, 90 days": "/scp/reports/?dimension=agent&period=90",
        "report by department, 90 days, by week": "/scp/reports/?period=90&granularity=week",
        "CSV export by agent, 90 days": "/scp/reports/export/?dimension=agent&period=90",
    }
    print(f"{'page':<52} {'viewer':<8} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for who, user in (("admin", admin), ("lead", lead)):
        client = Client()
        client.force_login(user)
        for label, url in pages.items():
            r = measure(client, url, args.runs)
            print(f"{label:<52} {who:<8} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['queries']:>8}",
                  flush=True)  # fmt: skip
    print("budget: p50 under 200 ms for the 90-day report by agent")


if __name__ == "__main__":
    main()
