"""The osTicket importer (`manage.py import_osticket`), one module per kind: config,
people, tickets (and tasks), threads, files, kb; `run` puts them in order."""
