"""Joint rewards and sanctions: the published catalogue of measures (``catalogue``), the
published purposes (``purposes``), the relying parties that ask (``parties``), and the
question they ask (``question.measures_for``)."""

from socialcredit.measures.catalogue import (
    Measure,
    MeasuresCatalogue,
    MeasuresReport,
    MeasureTrigger,
    check_measures,
    load_measures,
    select_catalogue,
    shipped_measures_dir,
)
from socialcredit.measures.errors import (
    CatalogueError,
    MeasuresError,
    NoCatalogueInForceError,
    PartyError,
    PurposeOutOfScopeError,
    UnknownPurposeError,
    UnknownSubjectError,
)
from socialcredit.measures.parties import (
    get_party,
    list_parties,
    party_purposes,
    register_party,
    require_party_purpose,
)
from socialcredit.measures.purposes import (
    PARTY_KINDS,
    Purpose,
    published_purposes,
    require_purpose,
)
from socialcredit.measures.question import AppliedMeasure, Basis, MeasuresAnswer, measures_for

__all__ = [
    "PARTY_KINDS",
    "AppliedMeasure",
    "Basis",
    "CatalogueError",
    "Measure",
    "MeasureTrigger",
    "MeasuresAnswer",
    "MeasuresCatalogue",
    "MeasuresError",
    "MeasuresReport",
    "NoCatalogueInForceError",
    "PartyError",
    "Purpose",
    "PurposeOutOfScopeError",
    "UnknownPurposeError",
    "UnknownSubjectError",
    "check_measures",
    "get_party",
    "list_parties",
    "load_measures",
    "measures_for",
    "party_purposes",
    "published_purposes",
    "register_party",
    "require_party_purpose",
    "require_purpose",
    "select_catalogue",
    "shipped_measures_dir",
]
