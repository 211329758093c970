"""What the Mailchimp sandbox holds: audiences, their members, tags, activity and block list.

Seeded from the demo shop's people (:mod:`personvern.sandbox.people`), deterministically, so
that every run and every vendor sees the same person:

- **"Assemble nyhetsbrev"** — everyone who signed up for the newsletter in the shop
  (``newsletter_since``). In shop order, every tenth person from the fourth and the eighth
  on is ``unsubscribed`` and every tenth from the tenth on is ``cleaned`` (bounced); the
  rest are ``subscribed``. An unsubscribed or cleaned member's ``last_changed`` lies some
  weeks to two years after the sign-up, so retention sweeps have dates to cut at;
- **"Kunder – kampanjer"** — every other registered customer of the newsletter audience,
  so that "every audience" means more than one.

Each member has the shop's name, phone and first address as merge fields (FNAME, LNAME,
PHONE, ADDRESS), a tag or two, and an activity feed: the sign-up, the last campaigns sent
to them with opens and clicks, and the unsubscribe or bounce where there was one.

Permanently deleted members leave their subscriber hash on the audience's block list
(``forgotten``): Mailchimp refuses to re-import such an address ("Forgotten Email Not
Subscribed"); only the person signing up again through a form brings them back.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from personvern.sandbox.people import Person

DC: Final = "us21"  # the data center the sandbox account lives in (the key's suffix)
MAIN_AUDIENCE: Final = "Assemble nyhetsbrev"
CAMPAIGN_AUDIENCE: Final = "Kunder – kampanjer"
STATUSES: Final = frozenset(
    {"subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived"}
)
MERGE_TAGS: Final = ("FNAME", "LNAME", "PHONE", "ADDRESS")
ADDRESS_KEYS: Final = ("addr1", "addr2", "city", "state", "zip", "country")
# A member may take part in at most this many of the latest campaigns in the seed.
_CAMPAIGNS_PER_MEMBER: Final = 3
_EPOCH: Final = datetime(2019, 1, 15, 9, 0, tzinfo=UTC)


def subscriber_hash(email: str) -> str:
    """Mailchimp's id of a member: the MD5 hash of the lower-cased address."""
    return hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()


def stamp(moment: datetime | None) -> str:
    """A time as Mailchimp writes it: ISO 8601 in UTC, to the second (``…+00:00``)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the shop stores UTC without a zone
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def parse_stamp(text: str) -> datetime:
    """The inverse of :func:`stamp`; a time without a zone is taken as UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _digest(*parts: object) -> int:
    joined = "|".join(str(p) for p in parts).encode()
    return int(hashlib.sha256(joined).hexdigest()[:8], 16)


@dataclass(frozen=True)
class Campaign:
    id: str
    title: str
    sent: datetime


def campaigns() -> list[Campaign]:
    """The shop's monthly newsletters, January 2019 to June 2025."""
    out = []
    for n in range(78):
        year, month = 2019 + n // 12, n % 12 + 1
        out.append(
            Campaign(
                id=hashlib.md5(f"campaign-{n}".encode(), usedforsecurity=False).hexdigest()[:10],
                title=f"Nyhetsbrev {year}-{month:02d}",
                sent=datetime(year, month, 15, 9, 0, tzinfo=UTC),
            )
        )
    return out


@dataclass
class Tag:
    id: int
    name: str
    date_added: datetime


@dataclass
class Member:
    email_address: str
    status: str
    merge_fields: dict[str, Any]
    timestamp_signup: datetime | None
    ip_signup: str
    timestamp_opt: datetime | None
    ip_opt: str
    last_changed: datetime
    tags: list[Tag] = field(default_factory=list)
    activity: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    unsubscribe_reason: str = ""
    language: str = "nb"
    vip: bool = False
    member_rating: int = 2
    email_type: str = "html"
    location: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return subscriber_hash(self.email_address)

    def to_json(self, audience: Audience) -> dict[str, Any]:
        """The member as ``GET /lists/{list_id}/members/{subscriber_hash}`` returns it."""
        opens = sum(1 for a in self.activity if a["activity_type"] == "open")
        clicks = sum(1 for a in self.activity if a["activity_type"] == "click")
        sent = sum(1 for a in self.activity if a["activity_type"] == "sent") or 1
        return {
            "id": self.id,
            "email_address": self.email_address,
            "unique_email_id": self.id[:10],
            "contact_id": hashlib.md5(
                f"contact:{self.email_address.lower()}".encode(), usedforsecurity=False
            ).hexdigest(),
            "full_name": " ".join(
                str(self.merge_fields.get(t) or "") for t in ("FNAME", "LNAME")
            ).strip(),
            "web_id": _digest(audience.id, self.id) % 10**9,
            "email_type": self.email_type,
            "status": self.status,
            "unsubscribe_reason": self.unsubscribe_reason,
            "consents_to_one_to_one_messaging": True,
            "merge_fields": dict(self.merge_fields),
            "stats": {
                "avg_open_rate": round(opens / sent, 2),
                "avg_click_rate": round(clicks / sent, 2),
            },
            "ip_signup": self.ip_signup,
            "timestamp_signup": stamp(self.timestamp_signup),
            "ip_opt": self.ip_opt,
            "timestamp_opt": stamp(self.timestamp_opt),
            "member_rating": self.member_rating,
            "last_changed": stamp(self.last_changed),
            "language": self.language,
            "vip": self.vip,
            "email_client": "",
            "location": dict(self.location),
            "source": "API - Generic",
            "tags_count": len(self.tags),
            "tags": [{"id": t.id, "name": t.name} for t in self.tags],
            "list_id": audience.id,
        }


@dataclass
class Audience:
    id: str
    web_id: int
    name: str
    date_created: datetime
    members: dict[str, Member] = field(default_factory=dict)  # by subscriber hash
    forgotten: set[str] = field(default_factory=set)  # hashes deleted permanently
    tag_ids: dict[str, int] = field(default_factory=dict)  # tag name → id (a list's segments)

    def tag(self, name: str, when: datetime) -> Tag:
        if name not in self.tag_ids:
            self.tag_ids[name] = 10_000 + _digest(self.id, name) % 90_000
        return Tag(self.tag_ids[name], name, when)

    def to_json(self) -> dict[str, Any]:
        counts = dict.fromkeys(("subscribed", "unsubscribed", "cleaned"), 0)
        for m in self.members.values():
            if m.status in counts:
                counts[m.status] += 1
        return {
            "id": self.id,
            "web_id": self.web_id,
            "name": self.name,
            "contact": {
                "company": "Assemble Prosjekt AS",
                "address1": "Postboks 1",
                "city": "Oslo",
                "zip": "0101",
                "country": "NO",
            },
            "permission_reminder": "Du meldte deg på nyhetsbrevet hos Assemble.",
            "campaign_defaults": {
                "from_name": "Assemble",
                "from_email": "post@assemble.no",
                "subject": "",
                "language": "nb",
            },
            "date_created": stamp(self.date_created),
            "double_optin": True,
            "visibility": "prv",
            "stats": {
                "member_count": counts["subscribed"],
                "unsubscribe_count": counts["unsubscribed"],
                "cleaned_count": counts["cleaned"],
            },
        }


def _address(person: Person) -> dict[str, str] | str:
    if not person.addresses or not person.addresses[0].street:
        return ""
    a = person.addresses[0]
    return {
        "addr1": a.street or "",
        "addr2": "",
        "city": a.city or "",
        "state": "",
        "zip": a.postal_code or "",
        "country": a.country or "NO",
    }


def _member(
    audience: Audience,
    person: Person,
    status: str,
    *,
    joined: datetime,
    changed: datetime,
    campaign_list: Sequence[Campaign],
    extra_tags: Sequence[str],
) -> Member:
    ip = person.last_login_ip or ""
    member = Member(
        email_address=person.email,
        status=status,
        merge_fields={
            "FNAME": person.first_name,
            "LNAME": person.last_name,
            "PHONE": person.phone or "",
            "ADDRESS": _address(person),
        },
        timestamp_signup=joined,
        ip_signup=ip,
        timestamp_opt=joined + timedelta(minutes=3),
        ip_opt=ip,
        last_changed=changed,
        unsubscribe_reason="N/A (Unsubscribed by user)" if status == "unsubscribed" else "",
        member_rating=1 + _digest(person.email, "rating") % 5,
        location={
            "latitude": 59.9,
            "longitude": 10.7,
            "gmtoff": 1,
            "dstoff": 2,
            "country_code": "NO",
            "timezone": "Europe/Oslo",
            "region": "",
        },
    )
    kind = "Kunde" if person.customer_id is not None else "Gjest"
    member.tags = [audience.tag(name, joined) for name in (kind, *extra_tags)]
    member.activity.append(
        {"activity_type": "signup", "created_at_timestamp": stamp(joined), "signup_form": "Kasse"}
    )
    until = changed if status in ("unsubscribed", "cleaned") else datetime.max.replace(tzinfo=UTC)
    reached = [c for c in campaign_list if joined < c.sent < until][-_CAMPAIGNS_PER_MEMBER:]
    for c in reached:
        base = {"campaign_id": c.id, "campaign_title": c.title}
        member.activity.append(
            {"activity_type": "sent", "created_at_timestamp": stamp(c.sent), **base}
        )
        roll = _digest(person.email, c.id) % 4
        if roll >= 1:
            opened = c.sent + timedelta(hours=2 + roll)
            member.activity.append(
                {"activity_type": "open", "created_at_timestamp": stamp(opened), **base}
            )
        if roll == 3:
            member.activity.append(
                {
                    "activity_type": "click",
                    "created_at_timestamp": stamp(c.sent + timedelta(hours=6)),
                    "link_clicked": "https://assemble.no/tilbud",
                    **base,
                }
            )
    if status == "unsubscribed":
        member.activity.append({"activity_type": "unsub", "created_at_timestamp": stamp(changed)})
    elif status == "cleaned":
        member.activity.append(
            {"activity_type": "bounce", "created_at_timestamp": stamp(changed), "type": "hard"}
        )
    return member


class MailchimpState:
    """The account: its audiences, the API key it accepts and the connections open on it.

    Every read and write holds ``lock`` (the server's event loop runs in another thread than
    a test that inspects the state). ``pause()`` holds every request after it is counted as
    a connection until ``resume()``, so a test can fill the connection limit without timing.
    """

    def __init__(
        self,
        people: Sequence[Person],
        api_key: str,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.lock = threading.RLock()
        self.api_key = api_key
        self.clock = clock
        self._people = list(people)
        self.audiences: dict[str, Audience] = {}
        self.open = threading.Event()
        self.open.set()
        self.connections: dict[str, int] = {}  # API key → requests open now
        self.peak_connections = 0  # the most open at once since the last reset
        self.reset()

    def reset(self) -> None:
        """Back to the seed: every audience as the shop's people make it, nothing forgotten."""
        with self.lock:
            self.audiences = {}
            self.peak_connections = 0
            self._seed()

    def pause(self) -> None:
        self.open.clear()

    def resume(self) -> None:
        self.open.set()

    def _new_audience(self, name: str, created: datetime) -> Audience:
        list_id = hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()[:10]
        audience = Audience(list_id, _digest("web", name) % 10**6, name, created)
        self.audiences[list_id] = audience
        return audience

    def _seed(self) -> None:
        sent = campaigns()
        now = self.clock()
        main = self._new_audience(MAIN_AUDIENCE, _EPOCH - timedelta(days=30))
        offers = self._new_audience(CAMPAIGN_AUDIENCE, _EPOCH)
        readers = [p for p in self._people if p.newsletter_since is not None]
        for i, person in enumerate(readers):
            assert person.newsletter_since is not None
            joined = person.newsletter_since.replace(tzinfo=UTC)
            status = "subscribed"
            if i % 10 in (3, 7):
                status = "unsubscribed"
            elif i % 10 == 9:
                status = "cleaned"
            changed = joined + timedelta(minutes=3)
            if status != "subscribed":
                later = joined + timedelta(days=30 + _digest(person.email, "left") % 700)
                changed = min(later, now - timedelta(days=1))
            extra = ("Black Friday",) if _digest(person.email, "bf") % 3 == 0 else ()
            member = _member(
                main,
                person,
                status,
                joined=joined,
                changed=changed,
                campaign_list=sent,
                extra_tags=extra,
            )
            main.members[member.id] = member
            if person.customer_id is not None and i % 2 == 0:
                second = "unsubscribed" if i % 4 == 2 else "subscribed"
                when = joined + timedelta(days=1)
                also = when + timedelta(days=60) if second == "unsubscribed" else when
                member = _member(
                    offers,
                    person,
                    second,
                    joined=when,
                    changed=min(also, now - timedelta(days=1)),
                    campaign_list=sent,
                    extra_tags=("Kampanje vår",),
                )
                offers.members[member.id] = member

    def snapshot(self) -> Mapping[str, Mapping[str, Any]]:
        """Every member of every audience, tags and activity included, by ``list_id:hash``.

        The block list of permanently deleted hashes is not in it: it holds no personal
        data, and the conformance kit compares everyone else's data before and after.
        """
        with self.lock:
            return {
                "members": {
                    f"{audience.id}:{h}": {
                        **m.to_json(audience),
                        "tags": [(t.id, t.name, stamp(t.date_added)) for t in m.tags],
                        "activity": [dict(a) for a in m.activity],
                    }
                    for audience in self.audiences.values()
                    for h, m in audience.members.items()
                }
            }

    def where(self, email: str) -> dict[str, Member]:
        """The person's memberships: list id → member (for tests that look inside)."""
        wanted = subscriber_hash(email)
        with self.lock:
            return {a.id: a.members[wanted] for a in self.audiences.values() if wanted in a.members}
