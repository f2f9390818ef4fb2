"""helpdesk.exports.formats: formulas neutralised, rows streamed."""

import csv
import io

from helpdesk.exports.formats import csv_lines, csv_response, neutralise


def test_values_a_spreadsheet_would_run_are_neutralised():
    for text in ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x", "\r=x"]:
        assert neutralise(text) == "'" + text
    assert neutralise("a=b") == "a=b"
    assert neutralise(-3) == -3 and neutralise(None) is None


def test_csv_is_streamed_line_by_line_and_reads_back():
    def rows():
        yield ["T-1", '=HYPERLINK("http://x")', None]
        yield ["T-2", "plain, with comma", True]

    lines = csv_lines(["Number", "Subject", "Overdue"], rows())
    first = next(lines)
    assert first.startswith("\ufeffNumber,Subject,Overdue")
    text = first + "".join(lines)
    parsed = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert parsed == [
        ["Number", "Subject", "Overdue"],
        ["T-1", '\'=HYPERLINK("http://x")', ""],
        ["T-2", "plain, with comma", "yes"],
    ]
    response = csv_response("x.csv", ["A"], iter([["=1"]]))
    assert response.streaming and response["Content-Disposition"] == 'attachment; filename="x.csv"'
    assert b"".join(response.streaming_content).decode() == "\ufeffA\r\n'=1\r\n"
