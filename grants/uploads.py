"""Uploads are cut off while they stream in: `limit_uploads(view)` puts a handler in front of
Django's own that counts each file's bytes as they arrive and drops the file (SkipFile) as soon
as it passes the largest size any upload field takes, so an oversized file is never written
whole to a temporary file, never read into memory and never stored. The view learns which
fields were cut off from `request.upload_refused`.

Changing the upload handlers has to happen before the body is read, so the CSRF check (which
reads the form) runs inside the wrapper, after the handler is in place (Django's documented
pattern: csrf_exempt outside, csrf_protect inside).
"""

from functools import wraps

from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.views.decorators.csrf import csrf_exempt, csrf_protect


class LimitedUploadHandler(FileUploadHandler):
    def __init__(self, request, limit: int):
        super().__init__(request)
        self.limit = limit
        self.received = 0
        request.upload_refused = {}

    def new_file(self, field_name, file_name, *args, **kwargs):
        self.received = 0
        super().new_file(field_name, file_name, *args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.request.upload_refused[self.field_name] = self.file_name
            raise SkipFile
        return raw_data

    def file_complete(self, file_size):
        return None


def limit_uploads(limit_for):
    """`limit_for(request)` gives the byte limit (read from the database when the request comes;
    the upload form names its attachment type in the query string, as the body is not read yet)."""

    def decorator(view):
        protected = csrf_protect(view)

        @wraps(view)
        @csrf_exempt
        def wrapper(request, *args, **kwargs):
            if request.method == "POST":
                request.upload_handlers.insert(0, LimitedUploadHandler(request, limit_for(request)))
            else:
                request.upload_refused = {}
            return protected(request, *args, **kwargs)

        return wrapper

    return decorator
