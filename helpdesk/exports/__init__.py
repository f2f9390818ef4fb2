"""Exports: queues, search results, reports and the audit log as CSV or XLSX.

`formats` writes rows as a stream (constant memory) with values a spreadsheet would run
as formulas neutralised; the rest of the package (export jobs for large exports,
expiring files) builds on it.
"""
