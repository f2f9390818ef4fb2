import signal
import threading

from django.core.management.base import CommandError

from accounts.audit import NamedCommand
from helpdesk import cron


class Command(NamedCommand):
    help = (
        "Run the periodic jobs once; with --loop, keep running each on its interval "
        "(Celery beat without a broker)."
    )

    def add_arguments(self, parser):
        parser.add_argument("jobs", nargs="*", help="Only these jobs (default: all).")
        parser.add_argument(
            "--loop", action="store_true", help="Keep running each job on its interval."
        )

    def handle(self, *args, jobs, loop, **options):
        names = jobs or list(cron.JOBS)
        unknown = sorted(set(names) - set(cron.JOBS))
        if unknown:
            raise CommandError(
                f"Unknown jobs: {', '.join(unknown)}. Known: {', '.join(cron.JOBS)}."
            )
        if not loop:
            self._once(names)
            return
        self.stdout.write(f"Running {', '.join(names)} on their intervals (Ctrl-C stops).")
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        cron.run_loop(
            names, stop, report=lambda name, exc: self.stderr.write(f"{name} failed: {exc!r}")
        )

    def _once(self, names: list[str]) -> None:
        """Every job runs, whatever the ones before it did; each failure is reported and
        the command fails at the end, naming them."""
        failed = []
        for name in names:
            try:
                self.stdout.write(f"{name}: {cron.run_job(name)}")
            except Exception as exc:  # a failing job must not stop the others
                failed.append(name)
                self.stderr.write(f"{name} failed: {exc!r}")
        if failed:
            raise CommandError(f"{len(failed)} of {len(names)} jobs failed: {', '.join(failed)}.")
