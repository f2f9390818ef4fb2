"""Reports and aggregates (DESIGN.md: helpdesk/reports/)."""
