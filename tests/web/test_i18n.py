"""Both catalogues are complete, and translations never carry markup into a page."""

from __future__ import annotations

from socialcredit.web.i18n import (
    LANGUAGES,
    Translator,
    bilingual,
    extract,
    pick_language,
    problems,
    read_catalog,
)


def test_every_message_is_translated_in_both_languages() -> None:
    template = extract()
    assert len(template) > 100, "the extraction found the templates and modules"
    missing = [p for language in LANGUAGES for p in problems(language, template)]
    assert not missing, "run `python -m socialcredit.web.i18n update`, then translate:\n" + (
        "\n".join(missing[:40])
    )


def test_no_catalogue_keeps_unused_messages() -> None:
    used = {m.id for m in extract() if m.id}
    for language in LANGUAGES:
        kept = {m.id for m in read_catalog(language) if m.id}
        assert kept <= used, f"{language}: unused {sorted(map(str, kept - used))[:10]}"


def test_chinese_is_the_default_and_really_chinese() -> None:
    assert pick_language(None, None) == "zh_Hans"
    assert pick_language("en-GB", None) == "en"
    assert pick_language("fr", "zh-CN") == "zh_Hans"
    zh = Translator("zh_Hans")
    assert zh.plain("Black list") == "黑名单"
    assert Translator("en").plain("Black list") == "Black list"


def test_values_put_into_translations_are_escaped() -> None:
    zh = Translator("zh_Hans")
    text = str(zh.gettext("Decision %(ref)s.", ref="<script>x</script>"))
    assert "<script>" not in text and "&lt;script&gt;" in text
    plural = str(zh.ngettext("%(num)s entry found.", "%(num)s entries found.", 3))
    assert "3" in plural


def test_bilingual_titles() -> None:
    assert bilingual("机动车超速行驶 / Speeding", "en") == "Speeding"
    assert bilingual("机动车超速行驶 / Speeding", "zh_Hans") == "机动车超速行驶"
    assert bilingual("只有中文", "en") == "只有中文"
