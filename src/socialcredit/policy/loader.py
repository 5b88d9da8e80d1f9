"""Read policy files, check them, and resolve them into ``ResolvedPolicy`` values.

One pipeline serves both `policy check` (report everything) and loading (refuse
on any error): parse, validate the shape, lint, then resolve ``extends`` and run
the checks that need the merged result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from socialcredit.identity.registry import professions
from socialcredit.policy.errors import PolicyError
from socialcredit.policy.findings import Finding, error, has_errors
from socialcredit.policy.lint import lint_document
from socialcredit.policy.model import ResolvedPolicy
from socialcredit.policy.resolve import Document, resolve
from socialcredit.policy.schema import validate_document
from socialcredit.records.catalogue import Catalogue, default_catalogue

POLICY_SUFFIXES = (".yaml", ".yml")

YAML_SYNTAX = "yaml-syntax"
UNREADABLE_FILE = "unreadable-file"
NOT_A_MAPPING = "not-a-mapping"


class _PolicyYamlLoader(yaml.SafeLoader):
    """Safe YAML that keeps dates as text and refuses duplicate keys."""


# Without the timestamp resolver a date stays a string, so a bad one (2026-13-01) becomes a
# schema finding with its key path instead of an exception inside the parser.
_PolicyYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Any:
    # Plain YAML keeps the last of two equal keys; in a policy that silently drops a rule
    # or a rollout date, so it is an error.
    seen: set[object] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, str | int) and key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_PolicyYamlLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)


def read_yaml(path: Path, file: str) -> tuple[object, list[Finding]]:
    """The parsed content of a policy file, or findings saying why there is none."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [error(UNREADABLE_FILE, file, [], f"cannot read the file: {exc}")]
    try:
        raw = yaml.load(text, Loader=_PolicyYamlLoader)  # a SafeLoader subclass: no tags
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        return None, [error(YAML_SYNTAX, file, [], f"{exc.problem or exc}{where}")]
    except yaml.YAMLError as exc:
        return None, [error(YAML_SYNTAX, file, [], str(exc))]
    if not isinstance(raw, dict):
        kind = "empty" if raw is None else f"a {type(raw).__name__}"
        return None, [error(NOT_A_MAPPING, file, [], f"a policy file is a mapping; this is {kind}")]
    return raw, []


def shipped_policy_dir() -> Path:
    return Path(str(resources.files("socialcredit.data").joinpath("policies")))


def policy_files(path: Path) -> list[Path]:
    """``path`` itself, or the policy files directly inside it, by name."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in POLICY_SUFFIXES and p.is_file())
    return [path]


@dataclass(frozen=True, slots=True)
class CheckReport:
    files: tuple[str, ...]
    findings: tuple[Finding, ...]
    # The checked files that resolved without error.
    policies: tuple[ResolvedPolicy, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    def as_dict(self) -> dict[str, Any]:
        return {"files": list(self.files), "findings": [f.as_dict() for f in self.findings]}


@dataclass(frozen=True, slots=True)
class _Examined:
    file: str
    findings: list[Finding]
    document: Document | None
    ref: str | None  # id@version when readable, even from a broken file


def _examine(path: Path, catalogue: Catalogue) -> _Examined:
    file = str(path)
    raw, findings = read_yaml(path, file)
    if not isinstance(raw, dict):
        return _Examined(file, findings, None, None)
    ident, version = raw.get("id"), raw.get("version")
    ref = f"{ident}@{version}" if isinstance(ident, str) and isinstance(version, str) else None
    lint = lint_document(raw, file, catalogue, professions().keys())
    doc, schema = validate_document(raw, file)
    # A value both passes report (e.g. a missing legal basis) is reported once, by the lint,
    # whose code says what is wrong rather than that a key is missing.
    linted = {f.path for f in lint}
    findings = [f for f in schema if f.path not in linted] + lint
    document = Document(file, doc, clean=not has_errors(findings)) if doc else None
    return _Examined(file, findings, document, ref)


def _run(paths: Sequence[Path], catalogue: Catalogue, fallback: Sequence[Document]) -> CheckReport:
    examined = [_examine(p, catalogue) for p in paths]
    documents = [e.document for e in examined if e.document is not None]
    broken = {e.ref for e in examined if e.document is None and e.ref is not None}
    resolved, merged_findings = resolve(
        documents, broken_refs=broken, fallback=fallback, catalogue=catalogue
    )
    order = {e.file: i for i, e in enumerate(examined)}
    findings = [f for e in examined for f in e.findings] + merged_findings
    # Group by file in the order given; within a file, the order the checks found them.
    findings.sort(key=lambda f: order.get(f.file, len(order)))
    return CheckReport(
        files=tuple(e.file for e in examined),
        findings=tuple(findings),
        policies=tuple(resolved[e.file] for e in examined if e.file in resolved),
    )


def _unique(paths: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    seen: set[Path] = set()
    for given in paths:
        for p in policy_files(Path(given)):
            key = p.resolve()
            if key not in seen:
                seen.add(key)
                out.append(p)
    return out


def _shipped_documents(catalogue: Catalogue) -> list[Document]:
    if catalogue is default_catalogue():
        return _default_shipped_documents()
    examined = [_examine(p, catalogue) for p in policy_files(shipped_policy_dir())]
    return [e.document for e in examined if e.document is not None]


@lru_cache(maxsize=1)
def _default_shipped_documents() -> list[Document]:
    catalogue = default_catalogue()
    examined = [_examine(p, catalogue) for p in policy_files(shipped_policy_dir())]
    return [e.document for e in examined if e.document is not None]


def check_paths(paths: Iterable[str | Path], *, catalogue: Catalogue | None = None) -> CheckReport:
    """Check policy files (directories are expanded to the files directly in them).

    A file's ``extends`` is looked up among the given files first, then among the shipped
    policies, so a draft regional policy can be checked on its own.
    """
    catalogue = catalogue or default_catalogue()
    return _run(_unique(paths), catalogue, _shipped_documents(catalogue))


def load_policy_files(
    paths: Iterable[str | Path], *, catalogue: Catalogue | None = None
) -> tuple[ResolvedPolicy, ...]:
    """The resolved policies of the given files (bases may be shipped ones); any error raises
    ``PolicyError`` listing each problem with its file and key path."""
    report = check_paths(paths, catalogue=catalogue)
    if report.errors:
        raise PolicyError.from_findings(report.errors)
    return report.policies


def load_policies(
    directory: str | Path | None = None, *, catalogue: Catalogue | None = None
) -> tuple[ResolvedPolicy, ...]:
    """Every policy in ``directory`` (default: the shipped ones), resolved.

    The directory must be complete: ``extends`` resolves only within it. Policies come in
    a stable order: region, id, then version.
    """
    if directory is None and catalogue is None:
        return _load_shipped()
    catalogue = catalogue or default_catalogue()
    folder = Path(directory) if directory is not None else shipped_policy_dir()
    files = policy_files(folder)
    if not files:
        raise PolicyError(f"{folder}: no policy files (*.yaml) found")
    report = _run(files, catalogue, fallback=())
    if report.errors:
        raise PolicyError.from_findings(report.errors)
    return tuple(sorted(report.policies, key=lambda p: (p.region, p.id, p.version_key)))


@lru_cache(maxsize=1)
def _load_shipped() -> tuple[ResolvedPolicy, ...]:
    # Resolved policies are immutable, so every caller can share one copy.
    return load_policies(shipped_policy_dir())
