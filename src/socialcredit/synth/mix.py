"""How often each record type happens, to whom, and how large its amounts are.

Weights are relative frequencies within a subject's records: traffic and tax
dominate, as they do in real feeds; serious wrongdoing is rare; a few records
are positive. Courts never list minors, so court types start at 18.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TypeMix:
    code: str
    weight: float
    min_age: int = 18
    max_age: int = 200
    # Debts and judgments may still be unpaid: their conduct often has not ended.
    ongoing: bool = False


PERSON_MIX: tuple[TypeMix, ...] = (
    TypeMix("traffic.speeding", 30),
    TypeMix("traffic.red_light", 14),
    TypeMix("traffic.jaywalking", 6, min_age=12),
    TypeMix("traffic.drunk_driving", 0.8),
    TypeMix("traffic.hit_and_run", 0.1),
    TypeMix("traffic.unlicensed_driving", 1.0, min_age=16),
    TypeMix("tax.late_filing", 5),
    TypeMix("tax.arrears", 2, ongoing=True),
    TypeMix("tax.evasion", 0.15),
    TypeMix("debt.loan_arrears", 3, ongoing=True),
    TypeMix("debt.credit_card_arrears", 6, ongoing=True),
    TypeMix("debt.contract_default", 1.2, ongoing=True),
    TypeMix("court.dishonest_debtor", 0.8, ongoing=True),
    TypeMix("court.consumption_restriction", 0.5, ongoing=True),
    TypeMix("court.contempt", 0.1),
    TypeMix("finance.illegal_fundraising", 0.05),
    TypeMix("fraud.contract", 0.1),
    TypeMix("fraud.telecom", 0.3),
    TypeMix("fraud.insurance", 0.1),
    TypeMix("commendation.blood_donation", 4, max_age=60),
    TypeMix("commendation.heroic_act", 0.05, min_age=16),
    TypeMix("commendation.volunteer_service", 3, min_age=14),
    TypeMix("commendation.model_worker", 0.05, min_age=25),
)

# Added to the person mix for those holding the profession.
PROFESSION_MIX: dict[str, tuple[TypeMix, ...]] = {
    "doctor": (
        TypeMix("medical.malpractice", 1.5),
        TypeMix("medical.kickbacks", 1.0),
        TypeMix("medical.unlicensed_practice", 2.0),
    ),
    "public_servant": (
        TypeMix("civil_service.discipline", 2.5),
        TypeMix("civil_service.dereliction", 1.0),
    ),
}

ORG_MIX: tuple[TypeMix, ...] = (
    TypeMix("tax.late_filing", 10),
    TypeMix("tax.arrears", 5, ongoing=True),
    TypeMix("tax.evasion", 0.5),
    TypeMix("tax.invoice_fraud", 0.5),
    TypeMix("commendation.tax_a_grade", 8),
    TypeMix("debt.loan_arrears", 2, ongoing=True),
    TypeMix("debt.contract_default", 3, ongoing=True),
    TypeMix("court.dishonest_debtor", 1, ongoing=True),
    TypeMix("court.consumption_restriction", 0.5, ongoing=True),
    TypeMix("market.false_advertising", 2),
    TypeMix("market.food_safety", 1),
    TypeMix("market.annual_report_missing", 6),
    TypeMix("finance.illegal_fundraising", 0.2),
    TypeMix("professional.false_audit", 0.1),
    TypeMix("fraud.contract", 0.3),
)
HOSPITAL_MIX: tuple[TypeMix, ...] = (TypeMix("fraud.insurance", 1.0),)

# Amounts in CNY, drawn log-uniformly between the bounds.
AMOUNT_RANGES: dict[str, tuple[int, int]] = {
    "tax.arrears": (500, 200_000),
    "tax.evasion": (50_000, 5_000_000),
    "tax.invoice_fraud": (20_000, 3_000_000),
    "debt.loan_arrears": (1_000, 500_000),
    "debt.credit_card_arrears": (100, 50_000),
    "debt.contract_default": (5_000, 1_000_000),
    "court.dishonest_debtor": (10_000, 2_000_000),
    "finance.illegal_fundraising": (100_000, 50_000_000),
    "fraud.contract": (10_000, 5_000_000),
    "fraud.insurance": (2_000, 800_000),
    "medical.kickbacks": (5_000, 500_000),
}

# Codes that look plausible but are not in the published catalogue.
UNKNOWN_TYPES = (
    "traffic.illegal_parking",
    "debt.utility_arrears",
    "market.price_gouging",
    "medical.overprescription",
)
