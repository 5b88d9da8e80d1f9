"""The published OpenAPI document: valid, complete, and saying what each route answers."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from tests.api.conftest import Pilot


def _spec(client: TestClient) -> dict[str, Any]:
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


def test_the_document_validates(client: TestClient) -> None:
    spec = _spec(client)
    validate(spec)  # raises on any violation of the OpenAPI schema
    assert spec["info"]["title"] == "socialcredit"
    assert set(spec["components"]["securitySchemes"]) == {"HTTPBearer", "APIKeyHeader"}


def test_every_operation_documents_its_answer_and_errors(client: TestClient) -> None:
    spec = _spec(client)
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas  # replaced by the one error shape
    for path, operations in spec["paths"].items():
        assert path.startswith("/v1/"), path
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            # 200, or 201 where the call creates a case.
            success = [s for s in op["responses"] if s.startswith("2")]
            assert len(success) == 1 and success[0] in {"200", "201"}, where
            ok = op["responses"][success[0]]["content"]["application/json"]["schema"]
            assert ok.get("$ref", "").startswith("#/components/schemas/"), where
            assert op.get("summary"), where
            for status, response in op["responses"].items():
                if status == success[0]:
                    continue
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorResponse"), where
            secured = bool(op.get("security"))
            if path.startswith("/v1/public/") or path == "/v1/health":
                assert not secured, where
            else:
                assert secured and "401" in op["responses"] and "403" in op["responses"], where
                assert op.get("x-audit-action"), where


def test_docs_are_served(client: TestClient, pilot: Pilot) -> None:
    docs = client.get("/v1/docs")
    assert docs.status_code == 200 and "/v1/openapi.json" in docs.text
