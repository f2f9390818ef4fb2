"""The export writers: CSV and XLSX files hold the header and the rows, text a
spreadsheet would run as a formula is neutralised in both, and memory stays flat
whatever the number of rows."""

import csv
import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpdesk.exports.registry import ExportError
from helpdesk.exports.writers import write, write_csv, write_xlsx

from .xlsx import excel_time, read

ROOT = Path(__file__).resolve().parents[2]
HEADER = ["Ticket", "Subject", "Count", "When"]
WHEN = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC)
ROWS = [
    ["100001", "Printer on fire", 3, WHEN],
    ["100002", '=HYPERLINK("http://evil.test","click")', 0, None],
    ["100003", "+1+2", -4, None],
    ["100004", "@SUM(A1)", 1.5, None],
    ["100005", "-2", 7, None],
]


def test_csv_holds_the_header_and_rows_with_formulas_neutralised():
    out = io.BytesIO()
    assert write_csv(out, HEADER, ROWS) == 5
    text = out.getvalue().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == HEADER
    assert rows[1] == ["100001", "Printer on fire", "3", "2026-03-01T12:30:00+00:00"]
    assert [r[1] for r in rows[2:]] == [
        '\'=HYPERLINK("http://evil.test","click")',
        "'+1+2",
        "'@SUM(A1)",
        "'-2",
    ]
    assert [r[2] for r in rows[2:]] == ["0", "-4", "1.5", "7"]  # numbers stay numbers


def test_xlsx_holds_the_header_and_rows_with_formulas_neutralised(tmp_path):
    path = tmp_path / "out.xlsx"
    assert write_xlsx(str(path), HEADER, ROWS) == 5
    rows, formulas = read(path.read_bytes())
    assert not formulas
    assert rows[0] == HEADER
    assert rows[1][:3] == ["100001", "Printer on fire", 3.0]
    assert excel_time(rows[1][3]) == dt.datetime(2026, 3, 1, 12, 30)  # UTC
    assert [r[1] for r in rows[2:]] == [
        '\'=HYPERLINK("http://evil.test","click")',
        "'+1+2",
        "'@SUM(A1)",
        "'-2",
    ]
    assert [r[2] for r in rows[2:]] == [0.0, -4.0, 1.5, 7.0]
    assert len(rows) == 6 and all(len(r) <= 4 for r in rows)


def test_a_neutralised_header_too(tmp_path):
    path = tmp_path / "out.xlsx"
    write("xlsx", str(path), ["=cmd"], [])
    rows, _ = read(path.read_bytes())
    assert rows == [["'=cmd"]]


def test_xlsx_refuses_more_rows_than_a_sheet_holds(tmp_path, monkeypatch):
    from helpdesk.exports import writers

    monkeypatch.setattr(writers, "XLSX_MAX_ROWS", 3)
    with pytest.raises(ExportError) as refused:
        write_xlsx(str(tmp_path / "big.xlsx"), ["n"], ([i] for i in range(10)))
    assert refused.value.code == "too_many_rows"


PEAK = """
import json, resource, sys, tempfile, os
sys.path.insert(0, {root!r})
import datetime as dt
from helpdesk.exports.writers import write
n, fmt = int(sys.argv[1]), sys.argv[2]

def peak_mb():
    # VmHWM: this process's own peak. (ru_maxrss keeps the forking parent's peak across
    # exec on Linux: a subprocess of pytest would report pytest's size.)
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

when = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
rows = (
    (str(100000 + i), f"Subject number {{i}} about a printer", "Alice Example", "High",
     "Support", i, when + dt.timedelta(seconds=i))
    for i in range(n)
)
fd, path = tempfile.mkstemp(suffix="." + fmt); os.close(fd)
written = write(fmt, path, ["a", "b", "c", "d", "e", "f", "g"], rows)
size = os.path.getsize(path); os.unlink(path)
print(json.dumps({{"rows": written, "size": size, "peak_mb": peak_mb()}}))
"""


def peak(rows: int, fmt: str) -> dict:
    """Write `rows` generated rows in a fresh interpreter: its peak RSS (MB)."""
    code = PEAK.format(root=str(ROOT))
    out = subprocess.run(  # noqa: S603 (our own code, this interpreter)
        [sys.executable, "-c", code, str(rows), fmt], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_memory_stays_flat_whatever_the_number_of_rows(fmt):
    small, large = peak(2_000, fmt), peak(50_000, fmt)
    assert large["rows"] == 50_000 and large["size"] > 20 * small["size"]
    assert large["peak_mb"] < 100
    # 48,000 more rows (several MB of output) cost no more than a few MB of memory
    assert large["peak_mb"] - small["peak_mb"] < 5, (small, large)
