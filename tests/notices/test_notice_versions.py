"""Policy versions: a fingerprint of the content alone, and a readable diff."""

from __future__ import annotations

from datetime import date

import pytest

from personvern.inventory.schema import Inventory, Text
from personvern.notices import diff_html, policy_fingerprint, render_notice
from personvern.notices.versions import normalise


def _policy(inventory: Inventory, lang: str = "nb", **kw: object) -> str:
    return render_notice(inventory, "policy", lang, "md", **kw).decode()  # type: ignore[arg-type]


def test_same_content_same_fingerprint_whatever_the_version_line(assemble: Inventory) -> None:
    first = _policy(assemble, version="1", published=date(2025, 1, 1))
    later = _policy(assemble, version="7", published=date(2026, 6, 30))
    draft = _policy(assemble)
    assert first != later
    assert policy_fingerprint(first) == policy_fingerprint(later) == policy_fingerprint(draft)
    english = _policy(assemble, "en", version="2", published=date(2025, 3, 3))
    assert policy_fingerprint(english) == policy_fingerprint(_policy(assemble, "en"))


def test_fingerprint_ignores_line_ends_and_trailing_space_but_not_content(
    assemble: Inventory,
) -> None:
    text = _policy(assemble, version="1", published=date(2025, 1, 1))
    messy = text.replace("\n", "  \r\n") + "\n\n\n"
    assert policy_fingerprint(messy) == policy_fingerprint(text)
    assert len(policy_fingerprint(text)) == 64
    changed = text.replace("Kundeservice", "Kundestøtte")
    assert policy_fingerprint(changed) != policy_fingerprint(text)


def test_a_change_in_the_inventory_changes_the_fingerprint(assemble: Inventory) -> None:
    activity = assemble.activities[0].model_copy(
        update={"purpose": Text(nb="Et nytt formål.", en="A new purpose.")}
    )
    changed = assemble.model_copy(update={"activities": [activity, *assemble.activities[1:]]})
    assert policy_fingerprint(_policy(changed)) != policy_fingerprint(_policy(assemble))


def test_normalise_drops_only_the_version_line() -> None:
    text = "# T\n\n_Versjon 2, sist endret 1. mai 2025._\n\nVersjon 2 av avtalen gjelder.\n"
    assert normalise(text) == "# T\n\nVersjon 2 av avtalen gjelder."


def test_diff_marks_deletions_and_insertions_word_by_word() -> None:
    old = "# Policy\n\nVi lagrer opplysningene i 3 år.\n\nUendret avsnitt.\n"
    new = "# Policy\n\nVi lagrer opplysningene i 5 år.\n\nUendret avsnitt.\n\nNytt avsnitt.\n"
    html = diff_html(old, new)
    assert html.startswith('<div class="personvern-diff">')
    assert '<li class="changed">Vi lagrer opplysningene i <del>3</del><ins>5</ins> år.</li>' in html
    assert '<li class="added"><ins>Nytt avsnitt.</ins></li>' in html
    removed = diff_html(new, old)
    assert '<li class="removed"><del>Nytt avsnitt.</del></li>' in removed


def test_diff_escapes_and_leaves_out_the_version_line() -> None:
    old = "_Versjon 1, sist endret 1. mai 2025._\n\n<b>a</b>\n"
    new = "_Versjon 2, sist endret 2. mai 2025._\n\n<b>b</b>\n"
    html = diff_html(old, new)
    assert "<b>" not in html
    assert "&lt;b&gt;" in html
    assert "Versjon" not in html


def test_diff_of_equal_texts_says_nothing_changed() -> None:
    assert 'class="unchanged"' in diff_html("a\n", "a\n")


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_diff_of_two_rendered_policies_is_short(assemble: Inventory, lang: str) -> None:
    old = _policy(assemble, lang, version="1", published=date(2025, 1, 1))
    activity = assemble.activities[3].model_copy(
        update={"purpose": Text(nb="Å svare deg raskt.", en="To answer you quickly.")}
    )
    changed = assemble.model_copy(
        update={"activities": [*assemble.activities[:3], activity, *assemble.activities[4:]]}
    )
    new = _policy(changed, lang, version="2", published=date(2025, 2, 1))
    html = diff_html(old, new)
    assert html.count('class="changed"') == 1
    assert "<ins>" in html
    assert "<del>" in html
    assert html.count("<li") <= 1 + 2 * 2  # the change and two lines either side
