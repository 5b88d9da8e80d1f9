"""The REST API (``/v1``): records in, files and scores out, measures, public lists."""

from socialcredit.api.app import create_app
from socialcredit.api.settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]
