"""Extracting the translatable texts from the source, and keeping the catalogs in step.

``python -m personvern.i18n.extract`` rewrites both ``.po`` files: new texts are added
(empty, to translate), translations of unchanged texts are kept, texts no longer in the
source are dropped. Then translate every empty ``msgstr`` in ``locale/nb``; the catalog test
fails until that is done.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from personvern.i18n.catalogs import DOMAIN, LANGUAGES, catalog_path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
MAPPING_FILE = Path(__file__).resolve().parent / "babel.cfg"
COMMENT_TAGS = ("Translators:",)


def extract_messages() -> Catalog:
    """Every msgid in ``src/personvern`` (Python and templates), as ``babel.cfg`` says."""
    with MAPPING_FILE.open(encoding="utf-8") as fh:
        # Babel's frontend module has no annotations; the result is two plain lists/dicts.
        method_map, options_map = parse_mapping_cfg(  # type: ignore[no-untyped-call]
            fh, filename=str(MAPPING_FILE)
        )
    template = Catalog(project="personvern", domain=DOMAIN, fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        PACKAGE_DIR,
        method_map,
        options_map,
        comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
    ):
        template.add(
            message,
            None,
            [(filename, lineno)],
            auto_comments=comments,
            context=context,
        )
    return template


def update_catalogs() -> list[Path]:
    """Merge the extracted texts into every language's catalog; returns the files written."""
    template = extract_messages()
    written = []
    for lang in LANGUAGES:
        path = catalog_path(lang)
        if path.exists():
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=lang, domain=DOMAIN)
        else:
            catalog = Catalog(locale=lang, domain=DOMAIN, project="personvern", fuzzy=False)
        # No fuzzy matching: a guessed translation of a changed text is worse than none,
        # because the catalog test would then pass with a wrong text.
        # Keep the creation date, so a run that changes no text changes no file.
        created = catalog.creation_date
        catalog.update(template, no_fuzzy_matching=True)
        catalog.creation_date = created
        catalog.obsolete.clear()
        catalog.fuzzy = False
        buffer = io.BytesIO()
        # No line numbers: they would make every edit of a source file a catalog diff.
        write_po(buffer, catalog, sort_output=True, include_lineno=False, width=96)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue())
        written.append(path)
    return written


def main() -> int:
    for path in update_catalogs():
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
