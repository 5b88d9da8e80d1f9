"""Logging in, the subject portal and its forms, on both stores."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from socialcredit.api import ApiSettings
from socialcredit.db.models import ApiKey, Objection, RepairApplication, utcnow
from socialcredit.identity.ids import mask
from tests.web.conftest import WebWorld, audit_rows, csrf_of, login, make_client


def test_login_sets_a_strict_secure_session_cookie(client: TestClient, world: WebWorld) -> None:
    response = login(client, world.keys["subject"])
    assert response.status_code == 303
    assert response.headers["location"] == "/portal"
    cookie = response.headers["set-cookie"].lower()
    assert "sc_session=" in cookie
    for flag in ("httponly", "secure", "samesite=strict", "path=/"):
        assert flag in cookie, flag
    assert world.keys["subject"].lower() not in cookie  # the key stays on the server
    assert client.get("/portal").status_code == 200


def test_login_refusals(client: TestClient, world: WebWorld) -> None:
    # No token: a page of another site cannot log anyone in.
    no_token = client.post("/login", data={"key": world.keys["subject"]}, follow_redirects=False)
    assert no_token.status_code == 403
    assert "sc_session" not in no_token.headers.get("set-cookie", "")
    unknown = login(client, "sc_sub_" + "x" * 32)
    assert unknown.status_code == 401
    # Relying parties ask for measures through the API; they have no pages.
    party = login(client, world.keys["relying_party"])
    assert party.status_code == 403
    assert "sc_session" not in party.headers.get("set-cookie", "")
    anonymous = client.get("/portal", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=%2Fportal"


def test_report_explains_the_score_in_plain_words(client: TestClient, world: WebWorld) -> None:
    login(client, world.keys["subject"])
    before = len(audit_rows(world.engine, "web.portal.report"))
    response = client.get("/portal")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    assert world.subject.name in html
    assert mask(world.subject.number) in html
    assert world.subject.number not in html  # even the subject's own page masks it
    assert "score-number" in html
    speeding = (dt.date.today() - dt.timedelta(days=20)).isoformat()
    assert speeding in html
    assert "/portal/repair/new?record=" in html  # a minor traffic record: repairable now
    assert "沪01执1200号" in html
    rows = audit_rows(world.engine, "web.portal.report")
    assert len(rows) == before + 1
    assert rows[-1].subject_id == world.subject.id
    assert rows[-1].role == "subject"


def test_accesses_show_who_looked(client: TestClient, world: WebWorld) -> None:
    client.get(f"/lists/black/{world.entry_id(world.subject)}")  # the public looks
    login(client, world.keys["subject"])
    html = client.get("/portal/accesses").text
    assert "web.public.entry" in html or "公示" in html or "public list entry" in html


def _objection_form(client: TestClient) -> tuple[str, str]:
    html = client.get("/portal/objections/new").text
    record = re.search(r'name="record_id" id="record-(\d+)" value="\d+"', html)
    assert record, "no record to object to"
    return csrf_of(html), record.group(1)


def test_file_an_objection_with_evidence(
    client: TestClient, world: WebWorld, tmp_path: Path
) -> None:
    login(client, world.keys["subject"])
    token, record = _objection_form(client)
    pdf = b"%PDF-1.4\n% receipt of payment\n"
    response = client.post(
        "/portal/objections",
        data={"csrf": token, "record_id": record, "reason": "判决已履行完毕，款项已付清"},
        files={"evidence": ("回执.pdf", pdf, "application/pdf")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/portal/cases?filed=objection-")
    with world.engine.connect() as conn:
        objection = conn.execute(select(Objection)).one()
    assert objection.subject_id == world.subject.id
    assert objection.record_id == int(record)
    assert "sha256:" in objection.reason
    stored = list((tmp_path / "evidence").iterdir())
    assert len(stored) == 1 and stored[0].read_bytes() == pdf
    assert stored[0].name.split(".")[0] in objection.reason
    cases = client.get(response.headers["location"]).text
    assert f"#{objection.id}" in cases
    assert objection.decision_due.isoformat() in cases
    assert audit_rows(world.engine, "objection.file")[-1].subject_id == world.subject.id


def test_objection_refusals_file_nothing(client: TestClient, world: WebWorld) -> None:
    login(client, world.keys["subject"])
    token, record = _objection_form(client)
    data = {"csrf": token, "record_id": record, "reason": "不是我"}
    forged = client.post("/portal/objections", data=data | {"csrf": "forged"})
    assert forged.status_code == 403
    exe = client.post(
        "/portal/objections", data=data, files={"evidence": ("x.exe", b"MZ\x90\x00", "image/png")}
    )
    assert exe.status_code == 422
    empty = client.post("/portal/objections", data=data | {"reason": "  "})
    assert empty.status_code == 422
    with world.engine.connect() as conn:
        assert conn.execute(select(Objection)).first() is None
    # A record of someone else: refused by the casework service, nothing filed.
    other = client.post("/portal/objections", data=data | {"record_id": "999999"})
    assert other.status_code == 422
    with world.engine.connect() as conn:
        assert conn.execute(select(Objection)).first() is None


def test_apply_for_repair(client: TestClient, world: WebWorld) -> None:
    login(client, world.keys["subject"])
    html = client.get("/portal/repair/new").text
    record = re.search(r'name="record_id" id="repair-(\d+)"', html)
    assert record, "the traffic record is repairable"
    data = {"csrf": csrf_of(html), "record_id": record.group(1), "obligations": "罚款已缴清"}
    no_commitment = client.post("/portal/repair", data=data)
    assert no_commitment.status_code == 422
    response = client.post(
        "/portal/repair", data=data | {"commitment": "yes"}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    with world.engine.connect() as conn:
        application = conn.execute(select(RepairApplication)).one()
    assert application.subject_id == world.subject.id
    assert "罚款已缴清" in application.obligations
    assert application.decision_due.isoformat() in client.get("/portal/cases").text


def test_certificate_download(client: TestClient, world: WebWorld) -> None:
    login(client, world.keys["subject"])
    token = csrf_of(client.get("/portal/certificate").text)
    issued = client.post(
        "/portal/certificate", data={"csrf": token, "kind": "credit_report", "format": "json"}
    )
    assert issued.status_code == 200
    assert issued.headers["content-disposition"].startswith('attachment; filename="certificate-')
    assert issued.json()["payload"]["subject"]["id"] == mask(world.subject.number)
    # Anyone with the code checks it on the public site, and the holder sees that they did.
    code = issued.json()["payload"]["code"]
    checked = client.get("/verify", params={"code": code})
    assert checked.status_code == 200
    assert "真实有效" in checked.text and mask(world.subject.number) in checked.text
    assert world.subject.name not in checked.text  # a person's name is masked
    assert audit_rows(world.engine, "web.public.certificate")[-1].subject_id == world.subject.id
    assert client.get("/verify", params={"code": "nonsense"}).status_code == 422
    unknown = client.get("/verify", params={"code": "0000-0000-0000-0000"})
    assert "没有与该验证码对应的证明" in unknown.text
    # On the black list: no certificate of no dishonesty record, and the page says why.
    refused = client.post(
        "/portal/certificate", data={"csrf": token, "kind": "no_dishonesty_record"}
    )
    assert refused.status_code == 409
    assert "text/html" in refused.headers["content-type"]


def test_regulator_cannot_use_the_portal(client: TestClient, world: WebWorld) -> None:
    login(client, world.keys["regulator"])
    assert client.get("/portal").status_code == 403
    refusals = audit_rows(world.engine, "web.portal.report")
    assert refusals[-1].outcome == "forbidden_role"


def test_logout_and_revocation_end_the_session(world: WebWorld, tmp_path: Path) -> None:
    with make_client(world.engine, tmp_path) as c:
        login(c, world.keys["subject"])
        token = csrf_of(c.get("/portal").text)
        assert c.post("/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
        assert c.get("/portal", follow_redirects=False).status_code == 303
    # Without the key cache, a revocation takes effect on the next request.
    with make_client(world.engine, tmp_path, api=ApiSettings(key_cache_seconds=0.0)) as c:
        login(c, world.keys["subject"])
        assert c.get("/portal").status_code == 200
        with world.engine.begin() as conn:
            conn.execute(update(ApiKey).where(ApiKey.role == "subject").values(revoked_at=utcnow()))
        assert c.get("/portal", follow_redirects=False).status_code == 303


def test_no_report_without_its_audit_entry(client: TestClient, world: WebWorld) -> None:
    from tests.api.conftest import break_audit_log, repair_audit_log

    login(client, world.keys["subject"])
    break_audit_log(world.engine)
    try:
        response = client.get("/portal")
        assert response.status_code == 503
        assert "沪01执1200号" not in response.text
        assert mask(world.subject.number) not in response.text
    finally:
        repair_audit_log(world.engine)
    assert client.get("/portal").status_code == 200


def _records(html: str) -> list[str]:
    return re.findall(r'name="record_id" id="record-(\d+)" value="\d+"', html)


def test_a_form_refused_before_the_page_looks_up_its_user_is_audited(
    client: TestClient, world: WebWorld
) -> None:
    """Field validation refuses before the route runs: still on record as the subject's."""
    login(client, world.keys["subject"])
    token, record = _objection_form(client)
    before = len(audit_rows(world.engine, "web.portal.objection"))
    too_long = client.post(
        "/portal/objections", data={"csrf": token, "record_id": record, "reason": "x" * 5000}
    )
    assert too_long.status_code == 422
    rows = audit_rows(world.engine, "web.portal.objection")
    assert len(rows) == before + 1
    assert (rows[-1].outcome, rows[-1].role, rows[-1].subject_id) == (
        "validation_error",
        "subject",
        world.subject.id,
    )


def test_forms_the_page_refuses_are_refused_attempts_on_record(
    client: TestClient, world: WebWorld
) -> None:
    login(client, world.keys["subject"])
    token, record = _objection_form(client)
    empty = client.post("/portal/objections", data={"csrf": token, "record_id": record})
    assert empty.status_code == 422
    (refused,) = audit_rows(world.engine, "web.portal.objection")
    assert (refused.outcome, refused.subject_id) == ("missing_value", world.subject.id)
    assert refused.detail is not None and "reason" in refused.detail
    repair = client.post(
        "/portal/repair", data={"csrf": token, "record_id": record, "obligations": "罚款已缴清"}
    )
    assert repair.status_code == 422
    (refused,) = audit_rows(world.engine, "web.portal.repair")
    assert (refused.outcome, refused.subject_id) == ("missing_value", world.subject.id)
    assert refused.detail is not None and "commitment" in refused.detail
    # The report shown again with the form is a read of its own, as before.
    assert audit_rows(world.engine, "web.portal.report")[-1].outcome == "ok"


def _pdf(text: str) -> tuple[str, bytes, str]:
    return ("证明.pdf", b"%PDF-1.4\n" + text.encode(), "application/pdf")


def _kept(evidence: Path) -> list[str]:
    return sorted(p.name for p in evidence.iterdir()) if evidence.exists() else []


def test_evidence_is_kept_only_with_a_filed_case(
    client: TestClient, world: WebWorld, tmp_path: Path
) -> None:
    evidence = tmp_path / "evidence"
    login(client, world.keys["subject"])
    token, record = _objection_form(client)
    # Refused by the service (no such record of theirs): nothing is kept, not even a
    # temporary file.
    for n in range(3):
        refused = client.post(
            "/portal/objections",
            data={"csrf": token, "record_id": "999999", "reason": "不是我"},
            files={"evidence": _pdf(f"attempt {n}")},
        )
        assert refused.status_code == 422
    assert _kept(evidence) == []
    filed = client.post(
        "/portal/objections",
        data={"csrf": token, "record_id": record, "reason": "已履行"},
        files={"evidence": _pdf("receipt")},
        follow_redirects=False,
    )
    assert filed.status_code == 303, filed.text
    (stored,) = _kept(evidence)
    assert stored.endswith(".pdf") and not stored.startswith(".")


def test_evidence_is_capped_per_subject_and_day(world: WebWorld, tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    with make_client(world.engine, tmp_path, evidence_per_day=1) as c:
        login(c, world.keys["subject"])
        html = c.get("/portal/objections/new").text
        token, (first, second) = csrf_of(html), _records(html)
        filed = c.post(
            "/portal/objections",
            data={"csrf": token, "record_id": first, "reason": "已履行"},
            files={"evidence": _pdf("receipt")},
            follow_redirects=False,
        )
        assert filed.status_code == 303, filed.text
        (stored,) = _kept(evidence)
        # One objection with evidence a day here: the next is refused with a reason...
        capped = c.post(
            "/portal/objections",
            data={"csrf": token, "record_id": second, "reason": "不是本人"},
            files={"evidence": _pdf("another")},
        )
        assert capped.status_code == 422
        assert "已达每日上限" in capped.text
        assert _kept(evidence) == [stored]
        assert audit_rows(world.engine, "web.portal.objection")[-1].outcome == "evidence_limit"
        # ...and may be filed without the file.
        without = c.post(
            "/portal/objections",
            data={"csrf": token, "record_id": second, "reason": "不是本人"},
            follow_redirects=False,
        )
        assert without.status_code == 303, without.text
    with world.engine.connect() as conn:
        assert len(conn.execute(select(Objection)).all()) == 2


def test_a_second_repair_application_is_refused_in_the_readers_words(
    client: TestClient, world: WebWorld
) -> None:
    login(client, world.keys["subject"])
    html = client.get("/portal/repair/new").text
    record = re.search(r'name="record_id" id="repair-(\d+)"', html)
    assert record, "the traffic record is repairable"
    data = {
        "csrf": csrf_of(html),
        "record_id": record.group(1),
        "obligations": "罚款已缴清",
        "commitment": "yes",
    }
    assert client.post("/portal/repair", data=data, follow_redirects=False).status_code == 303
    again = client.post("/portal/repair", data=data)
    assert again.status_code == 422
    assert "该记录已有一项正在处理的信用修复申请。" in again.text
    assert audit_rows(world.engine, "repair.apply")[-1].outcome == "application_open"


def test_every_refusal_the_portal_words_is_one_the_services_give() -> None:
    import socialcredit.casework as casework
    from socialcredit.web.routers.portal import CASEWORK_MESSAGES

    sources = "".join(
        p.read_text(encoding="utf-8") for p in Path(casework.__file__).parent.glob("*.py")
    )
    for code in CASEWORK_MESSAGES:
        assert f'"{code}"' in sources or f'not_found("{code[8:]}"' in sources, code
