"""What the connector conformance kit needs from a real WordPress: the kit itself and a
snapshot of the site in the kit's terms.

The kit lives in ``tests/connectors/conformance.py``; test folders have no ``__init__.py``,
so its folder goes on ``sys.path`` here, once, before the import.

:func:`snapshot` names collections and keys as the exporters do (``user`` / ``user-3``,
``comments`` / ``comment-17``, the club plugin's ``assemble-club`` / ``member-AK-1001`` and
``assemble-club-visits`` / ``visit-AK-1001-1``), so the kit can tell the person's rows from
everyone else's; it is read from the tables by plain SQL, never through the connector.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wordpress_support import MARIADB, WordPressSite

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "connectors"))
from conformance import ConnectorConformance  # the kit every connector passes

__all__ = ["ConnectorConformance", "snapshot"]

# User meta WordPress itself rewrites on every sign-in with an application password (when
# and from where it was last used): not data about anyone that erasure could change.
VOLATILE_META = frozenset({"_application_passwords"})


def _rows(site: WordPressSite, sql: str) -> list[dict[str, Any]]:
    import pymysql
    import pymysql.cursors

    conn = pymysql.connect(
        **MARIADB, database=site.database, cursorclass=pymysql.cursors.DictCursor
    )
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


def snapshot(site: WordPressSite) -> dict[str, dict[str, Mapping[str, Any]]]:
    """The whole site as ``{collection: {key: row}}``: users with their meta, comments,
    posts, and the club plugin's members and visits (user meta, as the plugin reads it)."""
    meta: dict[int, list[tuple[str, Any]]] = {}
    for row in _rows(
        site, "SELECT user_id, meta_key, meta_value FROM wp_usermeta ORDER BY umeta_id"
    ):
        if row["meta_key"] not in VOLATILE_META:
            meta.setdefault(row["user_id"], []).append((row["meta_key"], row["meta_value"]))
    users: dict[str, Mapping[str, Any]] = {
        f"user-{row['ID']}": {**row, "meta": tuple(meta.get(row["ID"], ()))}
        for row in _rows(site, "SELECT * FROM wp_users ORDER BY ID")
    }
    members: dict[str, Mapping[str, Any]] = {}
    visits: dict[str, Mapping[str, Any]] = {}
    for user_id, pairs in meta.items():
        number = next((v for k, v in pairs if k == "assemble_club_number"), None)
        if not number:
            continue
        members[f"member-{number}"] = {
            "user_id": user_id,
            "number": number,
            "purchases": tuple(v for k, v in pairs if k == "assemble_club_purchase"),
        }
        dates = [v for k, v in pairs if k == "assemble_club_visit"]
        for i, day in enumerate(dates, start=1):
            visits[f"visit-{number}-{i}"] = {"user_id": user_id, "date": day}
    return {
        "user": users,
        "comments": {
            f"comment-{row['comment_ID']}": row
            for row in _rows(site, "SELECT * FROM wp_comments ORDER BY comment_ID")
        },
        "posts": {
            f"post-{row['ID']}": row for row in _rows(site, "SELECT * FROM wp_posts ORDER BY ID")
        },
        "assemble-club": members,
        "assemble-club-visits": visits,
    }
