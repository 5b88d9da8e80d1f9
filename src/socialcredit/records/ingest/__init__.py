"""Feed ingestion: CSV (UTF-8, UTF-8 with BOM, GB18030), JSON Lines and Parquet.

The public entry point is :func:`import_feed`; see ``importer`` for how rows are
validated, deduplicated and committed chunk by chunk.
"""

from socialcredit.records.ingest.importer import FeedRefusedError, ImportResult, import_feed

__all__ = ["FeedRefusedError", "ImportResult", "import_feed"]
