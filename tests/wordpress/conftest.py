"""One real WordPress for the whole session (see wordpress_support.py), and connectors to it.

The site is installed once (a couple of seconds); tests that erase take a person of their
own, so they do not depend on each other's order. Without PHP the tests skip, saying why,
unless ``PERSONVERN_REQUIRE_WORDPRESS`` is set: then they fail, as a CI without WordPress
should. scripts/system-packages installs PHP and WordPress, so CI does not skip.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from wordpress_support import REQUIRE, WordPressSite, connector_for, running_site, unavailable

from personvern.connectors.wordpress import WordPressConnector


@pytest.fixture(scope="session")
def wordpress_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WordPressSite]:
    reason = unavailable()
    if reason:
        if os.environ.get(REQUIRE):
            pytest.fail(f"{REQUIRE} is set but WordPress cannot run: {reason}")
        pytest.skip(reason)
    with running_site(Path(tmp_path_factory.mktemp("wordpress"))) as site:
        yield site
        # Whatever test ran last: WordPress's debug log has nothing from the bridge's code.
        if site.php_problems():
            pytest.fail("the bridge caused PHP warnings: " + "\n".join(site.php_problems()))


@pytest.fixture
async def connector(wordpress_site: WordPressSite) -> AsyncIterator[WordPressConnector]:
    conn = connector_for(wordpress_site, wordpress_site.admin, wordpress_site.admin_password)
    yield conn
    await conn.aclose()
