"""A real WordPress for the bridge's tests: Debian's package, PHP's built-in server, MariaDB.

:func:`running_site` copies ``/usr/share/wordpress`` (Debian's ``wordpress`` package) into a
temporary folder and writes its own ``wp-config.php`` there. A copy rather than Debian's
``/etc/wordpress/config-<host>.php`` scheme because that scheme writes outside the test's
folders (``/etc``, and plugins into the shared ``/var/lib/wordpress/wp-content``), so two runs
at once would meet; the copy takes well under a second. It then makes a fresh MariaDB
database (root on 127.0.0.1:3306), installs WordPress with ``wp_install()`` from
``php/install.php`` (no wp-cli), activates the bridge and the test-only club plugin
(``php/personvern-test-club.php``: one third-party exporter and eraser), creates an
administrator and an editor with application passwords and synthetic people (Faker
``no_NO``) with comments and user meta, and serves the site with ``php -S`` through
``php/router.php``. ``WP_ENVIRONMENT_TYPE`` is ``local``: WordPress offers application
passwords over plain HTTP only then.

PHP's own ``max_execution_time`` bounds each request and a timeout bounds the installer.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
from faker import Faker

from personvern.connectors.wordpress import WordPressConnector, WordPressSettings

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BRIDGE = REPO / "integrations" / "wordpress" / "personvern-bridge"
WORDPRESS = Path("/usr/share/wordpress")
MARIADB = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
REQUIRE = "PERSONVERN_REQUIRE_WORDPRESS"
PLUGINS = ("personvern-bridge/personvern-bridge.php", "personvern-test-club.php")


def unavailable() -> str | None:
    """Why a real WordPress cannot run here (None when it can)."""
    if shutil.which("php") is None or not (WORDPRESS / "wp-settings.php").is_file():
        return "PHP or Debian's wordpress package is missing: run scripts/system-packages"
    try:
        import pymysql
    except ImportError:
        return "PyMySQL is not installed: pip install -e '.[test]'"
    try:
        pymysql.connect(**MARIADB, connect_timeout=3).close()
    except pymysql.MySQLError as exc:
        return f"MariaDB on 127.0.0.1:3306 does not answer ({exc}); start it to test"
    return None


@dataclass(frozen=True)
class SitePerson:
    """One synthetic person as the installer made them."""

    email: str
    first_name: str
    last_name: str
    registered: bool
    club: dict[str, Any] | None
    comments: int


@dataclass
class WordPressSite:
    url: str
    database: str
    admin: str
    admin_password: str
    editor: str
    editor_password: str
    people: list[SitePerson]
    debug_log: Path
    staff_ids: tuple[int, int]  # the administrator's and the editor's user ids
    root: Path  # the WordPress folder
    user_ids: dict[str, int] = field(default_factory=dict)
    added: int = 0  # people added after the install, for unique user names

    def add_person(
        self, *, club: bool = True, role: str = "subscriber", posts: tuple[str, ...] = ()
    ) -> SitePerson:
        """A new registered person (with comments, and club data if ``club``), by
        ``php/add-people.php``: a person of one's own for a test that erases."""
        self.added += 1
        fake = Faker("no_NO")
        fake.seed_instance(1000 + self.added)
        # Numbers from 100 up: the installed people have 0 to 9 (club numbers AK-100x).
        plan = plan_person(
            fake, 100 + self.added, f"ny{self.added}", club=club, role=role, posts=posts
        )
        made = subprocess.run(
            ["php", str(HERE / "php" / "add-people.php"), str(self.root)],
            input=json.dumps([plan]).encode(),
            capture_output=True,
            timeout=60,
            check=False,
        )
        if made.returncode != 0:
            raise RuntimeError(f"adding a person failed: {made.stderr.decode(errors='replace')}")
        self.user_ids.update({k: int(v) for k, v in json.loads(made.stdout).items()})
        return site_person(plan)

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        import pymysql

        conn = pymysql.connect(**MARIADB, database=self.database, autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return list(cur.fetchall())
        finally:
            conn.close()

    def rows(self) -> dict[str, dict[str, tuple[Any, ...]]]:
        """Users, user meta and comments, by table and id, exactly as stored."""
        return {
            table: {str(row[0]): row for row in self.query(f"SELECT * FROM wp_{table} ORDER BY 1")}  # noqa: S608  # fixed table names
            for table in ("users", "usermeta", "comments")
        }

    def rows_of(self, email: str) -> set[tuple[str, str]]:
        """The ``(table, id)`` of every row about ``email``, by plain queries."""
        out = {
            ("comments", str(r[0]))
            for r in self.query(
                "SELECT comment_ID FROM wp_comments WHERE comment_author_email = %s", email
            )
        }
        for (uid,) in self.query("SELECT ID FROM wp_users WHERE user_email = %s", email):
            out.add(("users", str(uid)))
            out |= {
                ("usermeta", str(r[0]))
                for r in self.query("SELECT umeta_id FROM wp_usermeta WHERE user_id = %s", uid)
            }
        return out

    def records_of(self, email: str) -> set[tuple[str, str]]:
        """What the exporters should find for ``email``, as ``(group_id, item_id)``, by SQL."""
        out = {
            ("comments", f"comment-{r[0]}")
            for r in self.query(
                "SELECT comment_ID FROM wp_comments WHERE comment_author_email = %s", email
            )
        }
        for (uid,) in self.query("SELECT ID FROM wp_users WHERE user_email = %s", email):
            out.add(("user", f"user-{uid}"))
            meta = self.query(
                "SELECT meta_key, meta_value FROM wp_usermeta WHERE user_id = %s ORDER BY umeta_id",
                uid,
            )
            number = next((v for k, v in meta if k == "assemble_club_number"), None)
            if number:
                visits = sum(1 for k, _ in meta if k == "assemble_club_visit")
                out.add(("assemble-club", f"member-{number}"))
                out |= {
                    ("assemble-club-visits", f"visit-{number}-{i}") for i in range(1, visits + 1)
                }
        return out

    def php_problems(self) -> list[str]:
        """Lines of WordPress's debug log that come from the bridge."""
        if not self.debug_log.exists():
            return []
        lines = self.debug_log.read_text(errors="replace").splitlines()
        return [line for line in lines if "personvern-bridge" in line]


def connector_for(
    site: WordPressSite,
    username: str,
    password: str,
    *,
    url: str = "",
    reassign_posts_to: str | None = None,
) -> WordPressConnector:
    """A wordpress connector to ``site`` (or to ``url``) as ``username``."""
    settings = WordPressSettings(
        url=url or site.url,
        username=username,
        application_password=password,
        timeout=30,
        reassign_posts_to=reassign_posts_to,
    )
    return WordPressConnector(settings)


def plan_person(
    fake: Faker,
    number: int,
    login: str,
    *,
    registered: bool = True,
    club: bool = True,
    role: str = "subscriber",
    posts: tuple[str, ...] = (),
) -> dict[str, Any]:
    """One synthetic person as php/people.php makes them; ``number`` varies their data."""
    first, last = fake.first_name(), fake.last_name()
    membership = None
    if registered and club:
        membership = {
            "number": f"AK-{1000 + number}",
            "visits": [fake.date_this_decade().isoformat() for _ in range(1 + number % 3)],
            "purchases": [f"ordre {fake.random_number(digits=5, fix_len=True)}"],
        }
    return {
        "registered": registered,
        "login": login,
        "email": f"{login}.{fake.user_name()}@example.org",
        "first_name": first,
        "last_name": last,
        "description": fake.sentence(),
        "url": f"https://{fake.domain_word()}.example.org",
        "club": membership,
        "role": role,
        "posts": list(posts),
        "comments": [
            {
                "content": fake.paragraph(),
                "ip": fake.ipv4_public(),
                "agent": fake.user_agent(),
                "approved": j != 1,
            }
            for j in range(2 + number % 2)
        ],
    }


def plan_people(seed: int, registered: int = 8, guests: int = 2) -> list[dict[str, Any]]:
    """Synthetic people: registered users (most in the club) and guests who only commented."""
    fake = Faker("no_NO")
    fake.seed_instance(seed)
    return [
        # every fourth user is not in the club
        plan_person(fake, i, f"kunde{i}", registered=i < registered, club=i % 4 != 3)
        for i in range(registered + guests)
    ]


def site_person(plan: dict[str, Any]) -> SitePerson:
    return SitePerson(
        email=plan["email"],
        first_name=plan["first_name"],
        last_name=plan["last_name"],
        registered=plan["registered"],
        club=plan["club"],
        comments=len(plan["comments"]),
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wp_config(site: Path, database: str, url: str, debug_log: Path) -> str:
    keys = "\n".join(
        f"define('{name}', '{secrets.token_hex(32)}');"
        for name in (
            "AUTH_KEY",
            "SECURE_AUTH_KEY",
            "LOGGED_IN_KEY",
            "NONCE_KEY",
            "AUTH_SALT",
            "SECURE_AUTH_SALT",
            "LOGGED_IN_SALT",
            "NONCE_SALT",
        )
    )
    return f"""<?php
// Written by tests/wordpress/wordpress_support.py for one test session.
define('DB_NAME', '{database}');
define('DB_USER', '{MARIADB["user"]}');
define('DB_PASSWORD', '{MARIADB["password"]}');
define('DB_HOST', '{MARIADB["host"]}:{MARIADB["port"]}');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
{keys}
$table_prefix = 'wp_';
define('WP_ENVIRONMENT_TYPE', 'local');
define('WP_HOME', '{url}');
define('WP_SITEURL', '{url}');
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('WP_DEBUG', true);
define('WP_DEBUG_DISPLAY', false);
define('WP_DEBUG_LOG', '{debug_log}');
if (!defined('ABSPATH')) {{
    define('ABSPATH', __DIR__ . '/');
}}
require_once ABSPATH . 'wp-settings.php';
"""


def _drop(database: str) -> None:
    import pymysql

    conn = pymysql.connect(**MARIADB, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
    finally:
        conn.close()


@contextmanager
def running_site(workdir: Path, *, seed: int = 5) -> Iterator[WordPressSite]:
    """A freshly installed WordPress with the bridge, served on a free loopback port."""
    import pymysql

    database = f"pv_wp_{uuid.uuid4().hex[:12]}"
    conn = pymysql.connect(**MARIADB, autocommit=True)
    with conn.cursor() as cur:
        cur.execute(
            f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
    conn.close()
    server: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    try:
        site = workdir / "site"
        shutil.copytree(WORDPRESS, site, symlinks=True)
        plugins = site / "wp-content" / "plugins"
        shutil.copytree(BRIDGE, plugins / "personvern-bridge")
        shutil.copy(HERE / "php" / "personvern-test-club.php", plugins)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        debug_log = workdir / "debug.log"
        (site / "wp-config.php").unlink()  # Debian's, which reads /etc/wordpress
        (site / "wp-config.php").write_text(_wp_config(site, database, url, debug_log))

        people = plan_people(seed)
        plan = {
            "title": "Assemble Prosjekt (test)",
            "admin": {
                "login": "admin",
                "email": "admin@example.org",
                "password": secrets.token_hex(12),
            },
            "editor": {
                "login": "redaktor",
                "email": "redaktor@example.org",
                "password": secrets.token_hex(12),
            },
            "plugins": list(PLUGINS),
            "people": people,
        }
        installed = subprocess.run(
            ["php", str(HERE / "php" / "install.php"), str(site)],
            input=json.dumps(plan).encode(),
            capture_output=True,
            timeout=120,
            check=False,
        )
        if installed.returncode != 0:
            raise RuntimeError(
                f"installing WordPress failed: {installed.stderr.decode(errors='replace')}"
                f"{installed.stdout.decode(errors='replace')[-2000:]}"
            )
        made = json.loads(installed.stdout)

        log = (workdir / "php-server.log").open("wb")
        # One process (no PHP_CLI_SERVER_WORKERS): the connector asks one thing at a time,
        # and a lone process goes when it is told to. Its own session, so it and anything it
        # starts end together.
        server = subprocess.Popen(
            [
                "php",
                "-d",
                "max_execution_time=30",
                "-S",
                f"127.0.0.1:{port}",
                "-t",
                str(site),
                str(HERE / "php" / "router.php"),
            ],
            cwd=site,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if k != "PHP_CLI_SERVER_WORKERS"},
            start_new_session=True,
        )
        _wait_until_serving(url, server, workdir / "php-server.log")
        yield WordPressSite(
            url=url,
            database=database,
            admin="admin",
            admin_password=made["admin_password"],
            editor="redaktor",
            editor_password=made["editor_password"],
            people=[site_person(p) for p in people],
            root=site,
            debug_log=debug_log,
            staff_ids=(int(made["admin_id"]), int(made["editor_id"])),
            user_ids={k: int(v) for k, v in made["users"].items()},
        )
    finally:
        if server is not None:
            _stop(server)
        if log is not None:
            log.close()
        _drop(database)


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Ends the server's process group: SIGTERM, then SIGKILL if it lingers."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    except ProcessLookupError:
        server.wait()


def _wait_until_serving(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Until the site answers its REST index (the server needs a moment to bind)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"php -S stopped: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{url}/wp-json/", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"WordPress did not answer at {url} within 20 s: {log.read_text()[-2000:]}")
