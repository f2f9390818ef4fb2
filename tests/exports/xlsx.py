"""Read back the first sheet of an XLSX file (no openpyxl here): its rows as lists of
cell values (inline or shared strings as text, numbers as floats, empty cells None),
and whether any cell holds a formula."""

import io
import re
import zipfile

from defusedxml import ElementTree

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def _column(ref: str) -> int:
    letters = re.match(r"[A-Z]+", ref).group(0)
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def read(data: bytes) -> tuple[list[list], bool]:
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        shared = []
        if "xl/sharedStrings.xml" in book.namelist():
            root = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
            shared = ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t")) for si in root]
        sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
    rows, formulas = [], False
    for row in sheet.iter(f"{{{NS['m']}}}row"):
        values: list = []
        for cell in row.findall("m:c", NS):
            col = _column(cell.get("r"))
            values.extend([None] * (col + 1 - len(values)))
            formulas = formulas or cell.find("m:f", NS) is not None
            kind = cell.get("t")
            if kind == "inlineStr":
                values[col] = "".join(t.text or "" for t in cell.iter(f"{{{NS['m']}}}t"))
            elif kind == "s":
                values[col] = shared[int(cell.find("m:v", NS).text)]
            elif (v := cell.find("m:v", NS)) is not None:
                values[col] = float(v.text)
        rows.append(values)
    return rows, formulas


def excel_time(serial: float):
    """An Excel date serial as a naive datetime (to the second)."""
    import datetime as dt

    return dt.datetime(1899, 12, 30) + dt.timedelta(seconds=round(serial * 86400))
