"""The Parquet snapshot every population executor reads: one folder per table, holding
any number of files, possibly in hive partitions (``province=NN``).

Written by ``scoring.snapshot.export_snapshot`` from the store (partitioned by province,
with a manifest that ``check_snapshot`` holds it to); a data lake would hand a cluster
the same files.
"""

from __future__ import annotations

import pyarrow as pa

SUBJECTS = pa.schema(
    [
        ("subject_id", pa.int64()),
        ("kind", pa.string()),
        ("province_code", pa.string()),
        ("city_code", pa.string()),
        ("birth_date", pa.date32()),
    ]
)
RECORDS = pa.schema(
    [
        ("record_id", pa.int64()),
        ("subject_id", pa.int64()),
        ("provider_id", pa.int32()),
        ("provider_record_id", pa.string()),
        ("version", pa.int32()),
        ("record_type", pa.string()),
        ("decided_on", pa.date32()),
        ("conduct_ended_on", pa.date32()),
        ("amount_fen", pa.int64()),
        ("recorded_at", pa.timestamp("us")),
    ]
)
STATUS_EVENTS = pa.schema(
    [
        ("event_id", pa.int64()),
        ("record_id", pa.int64()),
        ("status", pa.string()),
        ("recorded_at", pa.timestamp("us")),
    ]
)
PROFESSIONS = pa.schema(
    [
        ("subject_id", pa.int64()),
        ("profession", pa.string()),
        ("registered_at", pa.timestamp("us")),
    ]
)
TABLES: dict[str, pa.Schema] = {
    "subjects": SUBJECTS,
    "records": RECORDS,
    "status_events": STATUS_EVENTS,
    "professions": PROFESSIONS,
}
