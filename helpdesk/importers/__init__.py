"""Importers from other helpdesks (osTicket: `manage.py import_osticket`)."""
