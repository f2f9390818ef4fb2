"""Django's SQLite backend, creating the database file readable by the owner only.

SQLite would create the file with the process umask (usually 0644: anyone on the host
could read every ticket and password hash). We create it first with mode 0600 and
tighten an existing one; SQLite gives its journal and WAL files the database file's
permissions, so they follow.
"""

import os
import stat

from django.db.backends.sqlite3 import base

FILE_MODE = 0o600


def secure_database_file(name) -> None:
    """Create the file with FILE_MODE if it is missing; take group and other bits off."""
    path = os.fspath(name)
    if not path or path == ":memory:" or path.startswith("file:"):
        return  # in memory (tests) or a URI: nothing on disk for us to protect
    try:
        fd = os.open(path, os.O_CREAT | os.O_RDWR, FILE_MODE)
    except OSError:
        return  # no such folder, no permission: SQLite reports it as it always did
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & 0o077:
            os.fchmod(fd, mode & ~0o077)
    finally:
        os.close(fd)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        secure_database_file(conn_params["database"])
        return super().get_new_connection(conn_params)
