"""Import authorizations from a CSV in the master list's export columns: upload → dry-run report
(every row's problems, or what would change) → confirm → import, all rows or none, in one audit
batch. Needs "Bulk add and update authorizations". The confirmation carries the file in the
form, compressed (the app keeps no state between requests), and re-checks every row before
writing."""
from __future__ import annotations

import base64
import zlib

from flask import request

from extensions import db
from rules.csv_io import COLUMN_NAMES, READ_ONLY_COLUMNS, import_authorizations
from rules.permissions import BULK_UPDATE

from .base import AccessMixin, BaseView, expose

MAX_UPLOAD_BYTES = 5_000_000
#: The confirmation form carries the file compressed; a form field may not exceed Flask's
#: MAX_FORM_MEMORY_SIZE (500 kB by default), read before this view by the CSRF check.
MAX_CARRIED_BYTES = 480_000


def pack(text: str) -> str:
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")


def unpack(packed: str) -> str | None:
    """The text of a packed file, or None when it is not one (or would be too large)."""
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(base64.b64decode(packed, validate=True), MAX_UPLOAD_BYTES + 1)
        if inflater.unconsumed_tail or len(raw) > MAX_UPLOAD_BYTES:
            return None
        return raw.decode("utf-8")
    except (ValueError, zlib.error):
        return None


class ImportView(AccessMixin, BaseView):
    permission = BULK_UPDATE

    def _page(self, status: int = 200, **context):
        return self.render("admin_views/imports.html", columns=COLUMN_NAMES,
                           read_only=sorted(READ_ONLY_COLUMNS), **context), status

    @expose("/", methods=("GET", "POST"))
    def index(self):
        if request.method == "GET":
            return self._page()
        confirming = request.form.get("step") == "import"
        if confirming:
            text = unpack(request.form.get("csv_file", ""))
            filename = request.form.get("filename", "upload.csv")[:200]
            if text is None:
                return self._page(400, error="The confirmation did not carry a readable file; "
                                             "check the file again.")
        else:
            upload = request.files.get("file")
            if upload is None or not upload.filename:
                return self._page(400, error="Choose a CSV file to check.")
            raw = upload.stream.read(MAX_UPLOAD_BYTES + 1)
            if len(raw) > MAX_UPLOAD_BYTES:
                return self._page(400, error="The file is larger than 5 MB; split it.")
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                return self._page(400, error="The file is not UTF-8 text: save the spreadsheet "
                                             "as “CSV UTF-8”.")
            filename = upload.filename[:200]
        report = import_authorizations(db.session, self.actor, text, source=filename)
        if confirming and report.ok and report.changed:
            db.session.commit()
        else:
            db.session.rollback()
        packed = pack(text) if report.ok and not confirming else ""
        if len(packed) > MAX_CARRIED_BYTES:
            return self._page(400, error="The file checks out but is too large to import from "
                                         "the console: split it, or use “flask authorizations "
                                         "import”.", report=report, filename=filename)
        return self._page(200 if report.ok else 422, report=report, packed=packed,
                          filename=filename, imported=confirming and report.ok)


def register(admin) -> None:
    admin.add_view(ImportView(name="Import authorizations", endpoint="imports",
                              url="/console/imports", category="Clients"))
