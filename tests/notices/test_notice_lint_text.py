"""The notice linter on the seed policy, on our own policies, and on its parts."""

from __future__ import annotations

import json

import pytest
from notices_support import FIXTURES, LANGS, PUBLISHED, VERSION

from personvern.inventory.schema import Inventory
from personvern.notices import LintReport, lint_text, render_notice
from personvern.notices.lint.checklist import ChecklistError, load_checklist, parse_rules
from personvern.notices.lint.sentences import detect, sentences, split
from personvern.notices.vocabulary import Lang

SEED_COVERED = {
    "controller_identity",
    "controller_contact",
    "purposes",
    "recipients",
    "right_of_access",
    "right_to_rectification",
    "complaint_to_authority",
    "how_to_exercise_rights",
    "email_marketing_opt_out",
}
SEED_MISSING = {
    "dpo",
    "legal_basis",
    "recipient_roles",
    "transfers",
    "retention",
    "right_to_erasure",
    "right_to_restriction",
    "right_to_object",
    "objection_direct_marketing",
    "right_to_portability",
    "withdraw_consent",
    "provision_requirement",
    "automated_decisions",
    "sources",
    "version_and_date",
    "cookie_consent",
    "email_marketing_basis",
}
SEED_WRONG = {"browser_settings_consent", "consent_by_use"}
SEED_NOT_APPLICABLE = {"legitimate_interest", "transfer_safeguards_copy"}


def _seed(lang: Lang) -> LintReport:
    text = (FIXTURES / f"seed_{lang}.txt").read_text(encoding="utf-8")
    return lint_text(text, lang, filename=f"seed_{lang}.txt")


def _quotes(report: LintReport, item: str) -> list[str]:
    return [e.text for e in report.item(item).evidence]


@pytest.mark.parametrize("lang", LANGS)
def test_seed_policy_findings_item_by_item(lang: Lang) -> None:
    report = _seed(lang)
    assert report.source_format == "plain"
    by_status: dict[str, set[str]] = {}
    for item in report.items:
        by_status.setdefault(item.status, set()).add(item.id)
    assert by_status == {
        "covered": SEED_COVERED,
        "missing": SEED_MISSING,
        "wrong": SEED_WRONG,
        "not_applicable": SEED_NOT_APPLICABLE,
    }
    assert not report.ok
    # Every item is reported, in checklist order.
    assert [i.id for i in report.items] == [rule.id for rule in load_checklist()]


def test_seed_in_bokmal_quotes_the_sentences_that_cover_or_break() -> None:
    report = _seed("nb")
    assert "E-post: tor@assemble.no" in _quotes(report, "controller_contact")
    assert "Telefon: +47 922 36 668" in _quotes(report, "controller_contact")
    assert (
        "Ved bestilling av Vipps vil informasjon som e-postadresse og navn deles med Vipps for å "
        "sette i gang en bestillingsprosess." in _quotes(report, "recipients")
    )
    assert _quotes(report, "right_of_access")[0] == (
        "Du har krav på innsyn i de opplysninger som er registrert om deg."
    )
    assert _quotes(report, "right_to_rectification") == [
        "Dersom de registrerte opplysninger ikke er riktige eller er ufullstendige, kan du kreve "
        "at opplysningene korrigeres i henhold til personopplysningsloven."
    ]
    assert _quotes(report, "complaint_to_authority") == [
        "Om du har innsigelser med hensyn til vår behandling av personvern har du også "
        "anledning å klage til Datatilsynet."
    ]
    browser = report.item("browser_settings_consent")
    assert [e.text for e in browser.evidence] == [
        "I henhold til norsk lov har du automatisk samtykket i at vi lagrer informasjonskapsler "
        "på din datamaskin dersom du tillater dette gjennom innstillingene i din nettleser."
    ]
    assert browser.evidence[0].line == 113
    # Missing items carry no quotes but say what to write.
    for item_id in ("legal_basis", "retention", "transfers", "right_to_erasure"):
        item = report.item(item_id)
        assert item.evidence == ()
        assert item.advice["nb"]


def test_seed_report_reads_item_by_item() -> None:
    text = _seed("nb").format("nb")
    assert text.startswith("Kontroll av seed_nb.txt")
    assert "✗ MANGLER" in text
    assert "✓ DEKKET" in text
    assert "! FEIL" in text
    assert "seed_nb.txt:113: «I henhold til norsk lov" in text
    assert "Resultat: 9 dekket, 17 mangler, 2 feil." in text
    assert "Result: 9 covered, 17 missing, 2 wrong." in _seed("nb").format("en")


def test_seed_report_as_json() -> None:
    data = _seed("nb").to_json()
    json.dumps(data)  # plain data only
    assert data["ok"] is False
    assert data["summary"] == {
        "covered": 9,
        "missing": 17,
        "wrong": 2,
        "clear": 0,
        "not_applicable": 2,
    }
    browser = next(i for i in data["items"] if i["id"] == "browser_settings_consent")
    assert browser["status"] == "wrong"
    assert browser["source"].startswith("ekomloven § 3-15")
    assert browser["evidence"][0]["line"] == 113
    assert browser["advice"]


@pytest.mark.parametrize("fmt", ["md", "html"])
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("inventory", ["assemble", "example"])
def test_generated_policy_passes_the_linter(
    inventory: str, lang: Lang, fmt: str, request: pytest.FixtureRequest
) -> None:
    inv: Inventory = request.getfixturevalue(inventory)
    text = render_notice(
        inv,
        "policy",
        lang,
        fmt,  # type: ignore[arg-type]
        version=VERSION,
        published=PUBLISHED,
    ).decode("utf-8")
    report = lint_text(text, lang, filename=f"policy.{lang}.{fmt}")
    assert report.ok, report.format()
    assert report.count("wrong") == 0
    assert report.count("missing") == 0


def test_the_policy_in_one_language_does_not_pass_as_the_other(assemble: Inventory) -> None:
    english = render_notice(assemble, "policy", "en", "md", published=PUBLISHED).decode()
    assert not lint_text(english, "nb").ok


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<html><body><p>Hei</p></body></html>", "html"),
        ("<main><h1>Tittel</h1></main>", "html"),
        ("# Tittel\n\nTekst.", "markdown"),
        ("| a | b |\n| --- | --- |\n| 1 | 2 |", "markdown"),
        ("- punkt\n- punkt", "markdown"),
        ("Personvernerklæring\n\nVi bruker e-post.", "plain"),
    ],
)
def test_format_is_detected(text: str, expected: str) -> None:
    assert detect(text) == expected


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (
            "Det følger av artikkel 6 nr. 1 bokstav b. Neste setning.",
            ["Det følger av artikkel 6 nr. 1 bokstav b.", "Neste setning."],
        ),
        ("Vi bruker f.eks. Klarna, jf. avtalen. Så kommer mer.", None),
        ("Skriv til post@firma.no. Vi svarer raskt.", ["Skriv til post@firma.no.", None]),
        ("Sist endret 25. november 2025. Versjon 3.", ["Sist endret 25. november 2025.", None]),
        ("Ingen punktum her", ["Ingen punktum her"]),
    ],
)
def test_sentences_split_like_norwegian_text(block: str, expected: list[str | None] | None) -> None:
    found = [s.text for s in split(block, 1)]
    if expected is None:
        assert found == [
            "Vi bruker f.eks. Klarna, jf. avtalen.",
            "Så kommer mer.",
        ]
        return
    assert len(found) == len(expected)
    for got, want in zip(found, expected, strict=True):
        if want is not None:
            assert got == want


def test_html_sentences_keep_lines_and_skip_scripts_and_navigation() -> None:
    html = (
        "<html><head><style>p{}</style></head><body>\n<nav><p>Innhold</p></nav>\n"
        "<main><p>Første setning. Andre\nsetning.</p>\n<script>var x = 'Datatilsynet';</script>"
        "<table><tr><th>Mottaker</th><td>Mailchimp</td></tr></table></main></body></html>"
    )
    found = sentences(html)
    assert [(s.text, s.line) for s in found] == [
        ("Første setning.", 3),
        ("Andre setning.", 3),
        ("Mottaker", 5),
        ("Mailchimp", 5),
    ]


def test_plain_text_joins_a_sentence_broken_across_lines() -> None:
    text = "Informasjon lagres i våre\n\ninterne systemer, og hos leverandører.\nNeste linje"
    assert [s.text for s in sentences(text, "plain")] == [
        "Informasjon lagres i våre interne systemer, og hos leverandører.",
        "Neste linje",
    ]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "list under 'items'"),
        ({"items": [{"id": "x"}]}, "lacks"),
        (
            {
                "items": [
                    {
                        "id": "x",
                        "title": {"nb": "a"},
                        "source": "s",
                        "severity": "missing",
                        "patterns": {"nb": ["a"], "en": ["a"]},
                        "advice": {"nb": "a", "en": "a"},
                    }
                ]
            },
            "title needs exactly the languages",
        ),
        (
            {
                "items": [
                    {
                        "id": "x",
                        "title": {"nb": "a", "en": "a"},
                        "source": "s",
                        "severity": "missing",
                        "patterns": {"nb": ["(unclosed"], "en": ["a"]},
                        "advice": {"nb": "a", "en": "a"},
                    }
                ]
            },
            "is not a regular expression",
        ),
        (
            {
                "items": [
                    {
                        "id": "x",
                        "title": {"nb": "a", "en": "a"},
                        "source": "s",
                        "severity": "maybe",
                        "patterns": {"nb": ["a"], "en": ["a"]},
                        "advice": {"nb": "a", "en": "a"},
                    }
                ]
            },
            "severity",
        ),
    ],
)
def test_a_malformed_checklist_is_refused_with_the_item_named(
    document: dict[str, object], message: str
) -> None:
    with pytest.raises(ChecklistError, match=message):
        parse_rules(document)


def test_the_shipped_checklist_names_a_legal_source_for_every_item() -> None:
    rules = load_checklist()
    assert len(rules) >= 25
    for rule in rules:
        assert any(law in rule.source for law in ("GDPR", "ekomloven", "markedsføringsloven"))
        assert rule.title["nb"]
        assert rule.title["en"]


def test_browser_settings_statement_that_denies_it_counts_as_consent_is_not_flagged() -> None:
    ok = "Innstillinger i nettleseren regnes ikke som samtykke etter ekomloven § 3-15."
    wrong = "Du samtykker ved å tillate informasjonskapsler i nettleseren din."
    assert lint_text(ok, "nb").item("browser_settings_consent").status == "clear"
    assert lint_text(wrong, "nb").item("browser_settings_consent").status == "wrong"
    assert (
        lint_text("You consent by allowing cookies in your browser.", "en")
        .item("browser_settings_consent")
        .status
        == "wrong"
    )
