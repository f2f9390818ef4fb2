"""The attachments' storage on S3-compatible object storage (FILE_STORAGE=
config.s3storage.S3Storage; docs/deployment.md, "Object storage").

django-storages' S3 backend with three differences that keep files private:

- objects are written with the `private` ACL whatever the settings say, and nothing
  in the helpdesk asks for a URL: `url()` refuses, so no template or API can hand out
  a link that skips the permission-checked download views (helpdesk/downloads.py);
- `stream(name)` answers the object's bytes (and length) as they arrive (one GET), so a download
  goes from the bucket to the client in chunks, never whole in memory or on disk;
- `ready()` asks for the bucket itself (HEAD bucket): `/readyz` fails on a wrong
  bucket name or refused credentials, where a HEAD of a missing key would not.
"""

from typing import Any

from storages.backends.s3 import S3Storage as BaseS3Storage
from storages.utils import clean_name


class S3Storage(BaseS3Storage):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.default_acl = "private"  # whatever AWS_DEFAULT_ACL or OPTIONS say
        self.querystring_auth = True
        self.custom_domain = None  # a public domain would serve without a check

    def url(self, name, parameters=None, expire=None, http_method=None):
        raise NotImplementedError(
            "Stored files leave only through the permission-checked download views "
            "(helpdesk/downloads.py), never by a bucket URL."
        )

    def stream(self, name: str) -> tuple[Any, int]:
        """A read-once stream of the object's bytes (botocore's StreamingBody: read(n),
        close()) and its length, from one GET."""
        key = self._normalize_name(clean_name(name))
        answer = self.bucket.Object(key).get()
        return answer["Body"], int(answer["ContentLength"])

    def ready(self) -> bool:
        self.connection.meta.client.head_bucket(Bucket=self.bucket_name)
        return True
