"""The banner's configuration, built from the inventory, and the texts it showed, kept.

``GET /consent/config.json?site=…&lang=…`` gives the banner everything it shows and does:
the categories that have cookies on the site (necessary always on; preferences, analytics
and marketing off until chosen), what each is for, the cookies in it with provider,
purpose and lifetime (ekomloven § 3-15: the person must be told what is stored and why),
the names and patterns to delete on withdrawal, the current policy version, and the
SHA-256 of the exact texts (``texts_hash``).

Every distinct set of texts is stored once in ``consent_notices`` under its hash before the
banner can show it, so each consent entry names, by hash, the words the person saw
(GDPR Art. 7(1): the controller must be able to demonstrate consent; EDPB Guidelines
05/2020 §108: that includes what information was given).

The policy version is the number :func:`personvern.notices.history.publish` gives the
rendered policy. The banner re-asks when it changes, or when the set of categories does.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from personvern.consent.texts import CATEGORY_DESCRIPTION, banner_texts
from personvern.i18n import Language, translator
from personvern.i18n.terms import COOKIE_CATEGORY, label, period
from personvern.inventory.durations import Period
from personvern.inventory.schema import Cookie, Inventory
from personvern.runtime import Runtime
from personvern.store.consents import ConsentNotice
from personvern.store.tables import PolicyVersion

CONSENT_COOKIE = "personvern_consent"
DEFAULT_COOKIE_DAYS = 182  # six months, when the inventory does not declare the cookie
CATEGORIES: tuple[str, ...] = ("necessary", "preferences", "analytics", "marketing")
# Storage kinds the banner can clear itself; a pixel stores nothing in the browser.
_KIND_CODE: Mapping[str, int] = {"cookie": 0, "local_storage": 1, "session_storage": 2}


def canonical_json(value: Any) -> bytes:
    """Sorted, compact UTF-8 JSON: the bytes a hash is computed over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class NoticeInfo:
    """What a stored set of texts was shown for."""

    texts_hash: str
    site: str
    lang: str
    policy_version: int
    consentable: tuple[str, ...]  # category keys the visitor chose about, in order


@dataclass(frozen=True)
class BannerConfig:
    body: bytes  # the JSON the banner reads
    etag: str
    notice: NoticeInfo


def cookie_days(inventory: Inventory) -> int:
    """The consent cookie's lifetime in days, as the inventory declares it."""
    for cookie in inventory.cookies:
        if cookie.name == CONSENT_COOKIE and not cookie.lifetime.session:
            return max(1, _days(cookie.lifetime))
    return DEFAULT_COOKIE_DAYS


def _days(value: Period) -> int:
    # Calendar months vary; a day short is the safe side for a consent that must expire.
    return value.years * 365 + value.months * 30 + value.days + value.seconds // 86400


def site_origins(inventory: Inventory) -> frozenset[str]:
    return frozenset(site.origin for site in inventory.sites)


def _removable(cookie: Cookie, host: str) -> bool:
    """Whether the banner, running on ``host``, can delete this cookie or storage entry."""
    if cookie.kind not in _KIND_CODE:
        return False
    if cookie.domain is None:
        return True
    domain = cookie.domain.lstrip(".")
    return host == domain or host.endswith("." + domain)


def _shown_name(cookie: Cookie) -> str:
    return f"{cookie.label} ({cookie.domain})" if cookie.domain else cookie.label


def build_content(
    inventory: Inventory, site: str, lang: Language, policy_version: int
) -> dict[str, Any]:
    """The texts and categories shown on ``site`` in ``lang``: the hashed part."""
    tr = translator(lang)
    host = urlsplit(site).hostname or ""
    categories: list[dict[str, Any]] = []
    for key in CATEGORIES:
        cookies = [c for c in inventory.cookies if c.category == key]
        if not cookies and key != "necessary":
            continue  # never ask for consent to something the site does not do
        categories.append(
            {
                "k": key,
                "n": label(tr, COOKIE_CATEGORY, key),
                "t": tr.gettext(CATEGORY_DESCRIPTION[key]),
                "l": key == "necessary",
                "list": [
                    [_shown_name(c), c.provider, period(tr, c.lifetime), c.purpose.get(lang)]
                    for c in cookies
                ],
                "x": [[c.label, _KIND_CODE[c.kind]] for c in cookies if _removable(c, host)],
            }
        )
    consentable = [c["k"] for c in categories if not c["l"]]
    return {
        "site": site,
        "lang": lang,
        "v": policy_version,
        "cats": categories,
        "t": banner_texts(tr, consentable),
        "c": CONSENT_COOKIE,
        "d": cookie_days(inventory),
    }


def texts_hash(content: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()


class Banners:
    """Builds, caches and records the banner configuration of each site and language.

    One per app. Thread-safe: the config endpoint runs in the thread pool.
    """

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._lock = threading.Lock()
        self._published = False
        self._configs: dict[tuple[str, str, int], BannerConfig] = {}
        self._notices: dict[str, NoticeInfo] = {}
        self._origins: frozenset[str] | None = None

    def origins(self) -> frozenset[str]:
        if self._origins is None:
            self._origins = site_origins(self._runtime.inventory())
        return self._origins

    def policy_version(self) -> int:
        """The current policy version: published from the inventory once per process, then
        the newest stored one (an admin or the CLI may publish a newer one meanwhile)."""
        if not self._published:
            from personvern.notices.history import publish

            with self._lock:
                if not self._published:
                    publish(self._runtime, self._runtime.inventory())
                    self._published = True
        with self._runtime.sessions() as db:
            return int(db.scalar(select(func.max(PolicyVersion.number))) or 0)

    def config(self, site: str, lang: Language) -> BannerConfig:
        """The configuration for ``site`` (one of the inventory's origins) in ``lang``."""
        version = self.policy_version()
        key = (site, lang, version)
        cached = self._configs.get(key)
        if cached is not None:
            return cached
        content = build_content(self._runtime.inventory(), site, lang, version)
        digest = texts_hash(content)
        notice = NoticeInfo(
            texts_hash=digest,
            site=site,
            lang=lang,
            policy_version=version,
            consentable=tuple(c["k"] for c in content["cats"] if not c["l"]),
        )
        self._store(notice, content)
        body = canonical_json({**content, "h": digest})
        config = BannerConfig(body=body, etag=f'"{digest[:32]}"', notice=notice)
        with self._lock:
            self._configs[key] = config
            self._notices[digest] = notice
        return config

    def _store(self, notice: NoticeInfo, content: Mapping[str, Any]) -> None:
        """Keep the texts before the banner may show them (once per hash)."""
        with self._runtime.sessions() as db:
            if db.get(ConsentNotice, notice.texts_hash) is not None:
                return
            db.add(
                ConsentNotice(
                    texts_hash=notice.texts_hash,
                    site=notice.site,
                    lang=notice.lang,
                    policy_version=notice.policy_version,
                    content=canonical_json(content).decode(),
                )
            )
            try:
                db.commit()
            except IntegrityError:
                db.rollback()  # another process stored the same texts first

    def notice(self, digest: str) -> NoticeInfo | None:
        """The texts with hash ``digest``, if a banner of ours showed them."""
        found = self._notices.get(digest)
        if found is not None:
            return found
        with self._runtime.sessions() as db:
            row = db.get(ConsentNotice, digest)
        if row is None:
            return None
        content = json.loads(row.content)
        found = NoticeInfo(
            texts_hash=digest,
            site=row.site,
            lang=row.lang,
            policy_version=row.policy_version,
            consentable=tuple(c["k"] for c in content["cats"] if not c["l"]),
        )
        with self._lock:
            self._notices[digest] = found
        return found

    def content(self, digest: str) -> dict[str, Any] | None:
        """The stored texts themselves, for a receipt."""
        with self._runtime.sessions() as db:
            row = db.get(ConsentNotice, digest)
        return None if row is None else dict(json.loads(row.content))


def category_names(lang: Language, keys: Sequence[str]) -> list[str]:
    tr = translator(lang)
    return [label(tr, COOKIE_CATEGORY, key) for key in keys]
