"""Words for the codes the store keeps (categories, statuses, roles...), in both languages.

A code without a label here is shown as it is: a new code appears (untranslated) rather
than disappearing. The messages are marked with ``N_`` so the catalogues carry them.
"""

from __future__ import annotations

from socialcredit.identity.regions import YRD_PROVINCES, region_of
from socialcredit.web.i18n import N_, Translator

LABELS: dict[str, dict[str, str]] = {
    "category": {
        "traffic": N_("Traffic violations"),
        "tax": N_("Tax"),
        "debt": N_("Debt and finance"),
        "court_enforcement": N_("Court enforcement"),
        "illegal_fundraising": N_("Illegal fundraising"),
        "fraud": N_("Fraud"),
        "market": N_("Market regulation"),
        "medical": N_("Medical practice"),
        "civil_service": N_("Civil-service conduct"),
        "professional": N_("Professional services"),
        "commendation": N_("Commendations and public service"),
    },
    "list": {
        "black": N_("Black list"),
        "red": N_("Red list"),
    },
    "criterion": {
        "court-dishonest-debtor": N_("Dishonest judgment debtor (court)"),
        "court-consumption-restriction": N_("Consumption restriction order (court)"),
        "illegal-fundraising": N_("Illegal fundraising"),
        "serious-fraud": N_("Serious fraud"),
        "major-tax-violation": N_("Major tax violation"),
        "food-safety": N_("Serious food-safety violation"),
        "medical-commercial-bribery": N_("Commercial bribery in medicine"),
        "aaa-clean-record": N_("Grade AAA with a clean record"),
    },
    "record_status": {
        "active": N_("active"),
        "annulled": N_("annulled"),
        "corrected": N_("superseded by a correction"),
        "repaired": N_("repaired"),
        "expired": N_("expired"),
    },
    "list_status": {
        "pending_notice": N_("under notice"),
        "published": N_("published"),
        "exited": N_("exited"),
    },
    "severity": {
        "minor": N_("minor"),
        "general": N_("general"),
        "serious": N_("serious"),
    },
    "polarity": {
        "negative": N_("negative"),
        "positive": N_("positive"),
    },
    "kind": {
        "person": N_("person"),
        "organisation": N_("organisation"),
    },
    "role": {
        "public": N_("the public (no key)"),
        "anonymous": N_("the public (no key)"),
        "provider": N_("data provider"),
        "relying_party": N_("relying party"),
        "caseworker": N_("caseworker"),
        "regulator": N_("regulator"),
        "subject": N_("you"),
        "admin": N_("administrator"),
        "cli": N_("operator (command line)"),
    },
    "objection_status": {
        "filed": N_("filed"),
        "flagged": N_("flagged as disputed"),
        "forwarded": N_("forwarded to the provider"),
        "decided": N_("decided"),
    },
    "objection_outcome": {
        "upheld": N_("record upheld"),
        "corrected": N_("record corrected"),
        "deleted": N_("record deleted"),
    },
    "objection_step": {
        "flag": N_("flag the record"),
        "forward": N_("forward to the provider"),
        "decision": N_("decide"),
    },
    "repair_status": {
        "filed": N_("filed"),
        "approved": N_("approved"),
        "rejected": N_("rejected"),
    },
    "contribution_status": {
        "counted": N_("counted"),
        "category_not_in_force": N_("not counted: this category does not count yet"),
        "no_rule": N_("not counted: the policy has no rule for it"),
        "cap": N_("category limit"),
    },
    "measure_category": {
        "sanction": N_("sanction"),
        "reward": N_("reward"),
    },
    "target": {
        "person": N_("person"),
        "organisation": N_("organisation"),
        "legal_representative": N_("legal representative of a listed organisation"),
    },
    "issuing_body": {
        "traffic_police": N_("traffic police"),
        "tax_bureau": N_("tax bureau"),
        "court": N_("people's court"),
        "market_regulator": N_("market regulator"),
        "health_regulator": N_("health regulator"),
        "civil_service_bureau": N_("civil-service bureau"),
        "civil_affairs": N_("civil affairs bureau"),
        "bank": N_("bank"),
        "telecom": N_("telecom operator"),
        "payment": N_("payment platform"),
    },
    "action": {
        "subjects.read": N_("read the file"),
        "subjects.score": N_("read the score"),
        "measures.query": N_("asked which measures apply"),
        "public.lists.read": N_("read the public list"),
        "public.certificates.verify": N_("checked a certificate"),
        "records.submit": N_("furnished records"),
        "records.write": N_("furnished records"),
        "reports.read": N_("read the credit report"),
        "file.read": N_("read the file"),
        "certificates.issue": N_("issued a certificate"),
        "objection.file": N_("filed an objection"),
        "objection.flagged": N_("flagged a record as disputed"),
        "objection.forwarded": N_("forwarded an objection"),
        "objection.decide": N_("decided an objection"),
        "objection.read": N_("read an objection"),
        "objection.list": N_("listed objections"),
        "repair.apply": N_("applied for credit repair"),
        "repair.decide": N_("decided a credit repair"),
        "repair.read": N_("read a credit repair"),
        "repair.list": N_("listed credit repairs"),
        "record.annul": N_("annulled a record"),
        "record.correct": N_("corrected a record"),
        "web.portal.report": N_("read the report (portal)"),
        "web.portal.cases": N_("read the cases (portal)"),
        "web.public.entry": N_("read the public list entry"),
        "web.public.certificate": N_("checked a certificate"),
        "web.login": N_("logged in"),
        "web.portal.accesses": N_("read who accessed the file (portal)"),
        "web.portal.objection": N_("filed an objection"),
        "web.portal.repair": N_("applied for credit repair"),
        "web.portal.certificate": N_("issued a certificate"),
    },
    "rule_section": {
        "setting": N_("setting"),
        "grade_band": N_("grade band"),
        "rollout": N_("phased rollout"),
        "category_cap": N_("category limit"),
        "rule": N_("scoring rule"),
        "sanction": N_("sanction"),
        "list_setting": N_("list setting"),
        "list_criterion": N_("list criterion"),
    },
    "rule_change": {
        "added": N_("added"),
        "removed": N_("removed"),
        "changed": N_("changed"),
    },
    "profession": {
        "doctor": N_("doctor"),
        "public_servant": N_("public servant"),
        "teacher": N_("teacher"),
        "lawyer": N_("lawyer"),
        "accountant": N_("certified accountant"),
        "": N_("no registered profession"),
    },
}


def label(t: Translator, kind: str, code: str | None) -> str:
    """The reader's word for ``code`` of ``kind``; the code itself if there is none."""
    if code is None:
        return ""
    message = LABELS.get(kind, {}).get(code)
    return t.plain(message) if message else code


def province_name(code: str, language: str) -> str:
    """A province by its two-digit code: 上海市 / Shanghai."""
    if language == "en" and code in YRD_PROVINCES:
        return YRD_PROVINCES[code]
    return region_of(code + "0000").province or code


def city_name(city_code: str) -> str:
    """A city by its four-digit code (Chinese only: the division table has no English)."""
    return region_of(city_code + "00").city or city_code
