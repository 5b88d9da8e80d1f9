"""Languages of the pages: simplified Chinese by default, English on request.

Message ids are English; ``locale/<lang>/LC_MESSAGES/messages.po`` hold both
translations (the English one is complete too, so a wording can change without
touching the templates). The ``.po`` files are the only source: they are compiled to
``.mo`` form in memory the first time a language is used, so a compiled file can never
be older than its source.

Keeping the catalogues complete::

    python -m socialcredit.web.i18n update   # add new message ids to both .po files
    python -m socialcredit.web.i18n check    # exit 1 if any id lacks a translation

``tests/web/test_i18n.py`` runs the same check.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import Translations
from markupsafe import Markup, escape

LANGUAGES = ("zh_Hans", "en")
DEFAULT_LANGUAGE = "zh_Hans"
# What the ``lang`` attribute of a page says (BCP 47).
HTML_LANG = {"zh_Hans": "zh-Hans", "en": "en"}
# Each language named in itself, for the switch.
NATIVE_NAMES = {"zh_Hans": "中文", "en": "English"}

PACKAGE_DIR = Path(__file__).parent
LOCALE_DIR = PACKAGE_DIR / "locale"
DOMAIN = "messages"

# Marks a message for extraction without translating it where it is defined (labels
# in module-level tables are translated when shown, in the reader's language).
KEYWORDS: dict[str, Any] = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
    "plain": None,  # Translator.plain, in the routers
}
METHOD_MAP = [
    ("**/templates/**.html", "jinja2"),
    ("**.py", "python"),
]


def N_(message: str) -> str:
    return message


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(language: str) -> Catalog:
    with po_path(language).open("rb") as fh:
        return read_po(fh, locale=language)


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> Translations:
    """The language's catalogue, compiled from its ``.po`` file once per process."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; one of: {', '.join(LANGUAGES)}")
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(language))
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def pick_language(*candidates: str | None) -> str:
    """The first supported candidate (query, then cookie), else the default."""
    for value in candidates:
        if value in LANGUAGES:
            return value
        if value:
            # "en-US", "zh-CN", "zh_Hans"... are welcome too.
            low = value.replace("-", "_").lower()
            if low.startswith("en"):
                return "en"
            if low.startswith("zh"):
                return "zh_Hans"
    return DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Translator:
    """The gettext functions one request renders with.

    A translation is plain text: it is escaped like any other text, and the values put
    into it (``_("… %(name)s …", name=...)``) are escaped again by ``Markup``'s ``%``,
    so neither a catalogue nor the data can inject markup.
    """

    language: str

    @property
    def _t(self) -> Translations:
        return translations(self.language)

    def gettext(self, message: str, **values: Any) -> Markup:
        text = escape(self._t.gettext(message))
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> Markup:
        text = escape(self._t.ngettext(singular, plural, n))
        return text % ({"num": n} | values)

    def plain(self, message: str) -> str:
        """The translation as a str, for headers and attributes built in Python."""
        return str(self._t.gettext(message))

    def callables(self) -> dict[str, Callable[..., Markup]]:
        return {"_": self.gettext, "gettext": self.gettext, "ngettext": self.ngettext}


def bilingual(text: str | None, language: str) -> str:
    """One side of a published "中文 / English" title (the catalogue and policy files
    write both); text with no such split is returned whole."""
    if not text:
        return ""
    zh, sep, en = text.partition(" / ")
    if not sep:
        return text
    return en.strip() if language == "en" else zh.strip()


def localised(titles: dict[str, str] | None, language: str) -> str:
    """The title for ``language`` from a ``{"zh": ..., "en": ...}`` mapping."""
    if not titles:
        return ""
    key = "en" if language == "en" else "zh"
    return titles.get(key) or next(iter(titles.values()), "")


# --- keeping the catalogues complete --------------------------------------------------------


def extract() -> Catalog:
    """Every message id the templates and the web modules use."""
    catalog = Catalog(domain=DOMAIN)
    found: Iterable[Any] = extract_from_dir(
        str(PACKAGE_DIR),
        method_map=METHOD_MAP,
        keywords=KEYWORDS,
        options_map={"**/templates/**.html": {"extensions": ""}},
    )
    for filename, lineno, message, comments, context in found:
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def _msgid_key(message: Any) -> Any:
    return message.id if not isinstance(message.id, list | tuple) else tuple(message.id)


def problems(language: str, template: Catalog | None = None) -> list[str]:
    """Message ids used but missing or untranslated (or fuzzy) in ``language``."""
    template = template or extract()
    catalog = read_catalog(language)
    out = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id, context=message.context)
        label = message.id if isinstance(message.id, str) else message.id[0]
        if found is None:
            out.append(f"{language}: missing {label!r}")
            continue
        raw = found.string
        strings = list(raw) if isinstance(raw, list | tuple) else [raw or ""]
        if found.fuzzy or not all(text.strip() for text in strings):
            out.append(f"{language}: untranslated {label!r}")
    return out


def update() -> None:
    """Add new ids to both catalogues (English ones prefilled with the id) and drop ids
    no longer used; translations already made are kept."""
    template = extract()
    for language in LANGUAGES:
        catalog = read_catalog(language) if po_path(language).exists() else Catalog()
        catalog.locale = language
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        catalog.project = "socialcredit"
        catalog.version = "web"
        if language == "en":
            for message in catalog:
                if isinstance(message.id, list | tuple):
                    current = message.string
                    if not (isinstance(current, list | tuple) and all(current)):
                        message.string = tuple(message.id)
                elif message.id and not message.string:
                    message.string = message.id
        path = po_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            write_po(fh, catalog, width=0, omit_header=False, sort_output=True)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        update()
        return 0
    if command == "check":
        template = extract()
        found = [p for language in LANGUAGES for p in problems(language, template)]
        for line in found:
            print(line)
        return 1 if found else 0
    print("usage: python -m socialcredit.web.i18n [update|check]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
