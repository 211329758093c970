"""A stand-in for the Mailchimp Marketing API v3, at ``<sandbox>/mailchimp/3.0``.

Written from Mailchimp's published reference, https://mailchimp.com/developer/marketing/api/
(Lists/Audiences, List Members, Member Tags, Member Activity Feed, Search Members, Ping,
API Root) and its error glossary, https://mailchimp.com/developer/marketing/docs/errors/.
Facts researched for personvern are in ``reference/vendor_apis.md`` § 3.

Implemented, with Mailchimp's paths, shapes and errors:

- **Auth**: HTTP Basic, any user name, the API key as password. The key ends in
  ``-<dc>`` (the account's data center; the real host is ``https://<dc>.api.mailchimp.com``);
  a wrong key, or a key of another data center, is 401 "API Key Invalid", a missing one
  401 "API Key Missing". Errors are problem details (RFC 9457): ``type``, ``title``,
  ``status``, ``detail``, ``instance``, as ``application/problem+json``.
- **Connections**: Mailchimp allows 10 simultaneous connections per API key; the eleventh
  is answered 429 "Too Many Requests".
- ``GET /3.0/`` (API root: the account) and ``GET /3.0/ping``;
- ``GET /lists`` (``count``/``offset`` pagination, ``total_items``; ``sort_field=date_created``,
  ``sort_dir``), ``GET /lists/{list_id}``;
- ``GET /search-members?query=[&list_id=]`` — ``exact_matches`` (the address) and
  ``full_search`` (address, FNAME or LNAME containing the query), at most 10 each;
- ``GET /lists/{list_id}/members`` — ``status``, ``since_last_changed``,
  ``before_last_changed``, ``sort_field`` (``last_changed``, ``timestamp_opt``,
  ``timestamp_signup``), ``sort_dir``, ``count`` (≤ 1000) and ``offset``;
- ``POST /lists/{list_id}/members`` (add), ``GET``/``PATCH``/``PUT``/``DELETE``
  ``/lists/{list_id}/members/{subscriber_hash}`` — the hash is the MD5 of the lower-cased
  address (the address itself is accepted too, as newer versions of the API do). ``PUT``
  upserts and needs ``status_if_new`` for a new member; ``DELETE`` archives (the data
  stays); changing ``email_address`` moves the member to the new address's hash;
- ``POST …/{subscriber_hash}/actions/delete-permanent`` (204): the member and everything
  about them goes, and the address can no longer be added by the API — 400 "Forgotten
  Email Not Subscribed";
- ``GET``/``POST …/{subscriber_hash}/tags`` (``{"tags": [{"name", "status": "active" |
  "inactive"}]}``) and ``GET …/{subscriber_hash}/activity-feed`` (newest first, ``count``/
  ``offset``).

The parts: :mod:`~personvern.sandbox.mailchimp_state` (the account and its seed from the
demo shop), :mod:`~personvern.sandbox.mailchimp_guard` (key, connection limit, problem
details), :mod:`~personvern.sandbox.mailchimp_members` (what a member may hold); this module
routes the API onto them.

Not implemented: campaigns, reports, segments, interests, notes, events, batch operations,
webhooks, OAuth2 bearer tokens, ``fields``/``exclude_fields`` (ignored: the whole object is
returned) and the older ``…/activity`` endpoint (the reference points to ``activity-feed``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from personvern.sandbox.mailchimp_guard import (
    REFERENCE,
    Guard,
    Problem,
    error_body,
    problem,
    sandbox_key,
)
from personvern.sandbox.mailchimp_members import (
    EMAIL,
    check_status,
    forgotten,
    merged,
    new_member,
    set_status,
)
from personvern.sandbox.mailchimp_state import (
    STATUSES,
    Audience,
    MailchimpState,
    Member,
    parse_stamp,
    stamp,
    subscriber_hash,
)
from personvern.sandbox.server import SandboxContext, Vendor, VendorApp

# --- helpers ---------------------------------------------------------------------------------


def _int(request: Request, name: str, default: int, *, low: int = 0, high: int = 1000) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Problem(400, detail=f"{name} must be a whole number.") from None
    return max(low, min(high, value))


def _page(request: Request, items: list[Any]) -> list[Any]:
    count = _int(request, "count", 10, high=1000)
    offset = _int(request, "offset", 0, high=10**9)
    return items[offset : offset + count]


def _audience(state: MailchimpState, request: Request) -> Audience:
    audience = state.audiences.get(request.path_params["list_id"])
    if audience is None:
        raise Problem(404)
    return audience


def _hash(request: Request) -> str:
    raw: str = request.path_params["subscriber_hash"]
    return subscriber_hash(raw) if "@" in raw else raw.lower()


def _member(state: MailchimpState, request: Request) -> tuple[Audience, Member]:
    audience = _audience(state, request)
    member = audience.members.get(_hash(request))
    if member is None:
        raise Problem(404)
    return audience, member


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise Problem(
            400, "JSON Parse Exception", "We encountered an unspecified JSON parsing error."
        ) from None
    if not isinstance(body, dict):
        raise Problem(400, detail="The request body must be a JSON object.")
    return body


# --- the API ---------------------------------------------------------------------------------


class MailchimpApi:
    def __init__(self, state: MailchimpState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        member = "/3.0/lists/{list_id}/members/{subscriber_hash}"
        return [
            Route("/3.0/", self.root, methods=["GET"]),
            Route("/3.0", self.root, methods=["GET"]),
            Route("/3.0/ping", self.ping, methods=["GET"]),
            Route("/3.0/lists", self.lists, methods=["GET"]),
            Route("/3.0/lists/{list_id}", self.list_one, methods=["GET"]),
            Route("/3.0/search-members", self.search, methods=["GET"]),
            Route("/3.0/lists/{list_id}/members", self.members, methods=["GET"]),
            Route("/3.0/lists/{list_id}/members", self.add, methods=["POST"]),
            Route(member, self.get_member, methods=["GET"]),
            Route(member, self.patch_member, methods=["PATCH"]),
            Route(member, self.put_member, methods=["PUT"]),
            Route(member, self.archive, methods=["DELETE"]),
            Route(member + "/tags", self.tags, methods=["GET"]),
            Route(member + "/tags", self.set_tags, methods=["POST"]),
            Route(member + "/activity-feed", self.activity, methods=["GET"]),
            Route(member + "/actions/delete-permanent", self.forget, methods=["POST"]),
        ]

    async def root(self, request: Request) -> JSONResponse:
        with self.state.lock:
            total = sum(
                1
                for a in self.state.audiences.values()
                for m in a.members.values()
                if m.status == "subscribed"
            )
        return JSONResponse(
            {
                "account_id": "8d3a3db4d97663a9074efcc16",
                "login_id": "assemble",
                "account_name": "Assemble Prosjekt AS",
                "email": "post@assemble.no",
                "role": "owner",
                "account_timezone": "Europe/Oslo",
                "account_industry": "eCommerce",
                "pricing_plan_type": "monthly",
                "total_subscribers": total,
            }
        )

    async def ping(self, request: Request) -> JSONResponse:
        return JSONResponse({"health_status": "Everything's Chimpy!"})

    async def lists(self, request: Request) -> JSONResponse:
        with self.state.lock:
            audiences = list(self.state.audiences.values())
            if request.query_params.get("sort_field") == "date_created":
                reverse = request.query_params.get("sort_dir", "ASC").upper() == "DESC"
                audiences.sort(key=lambda a: a.date_created, reverse=reverse)
            page = [a.to_json() for a in _page(request, audiences)]
        return JSONResponse({"lists": page, "total_items": len(audiences)})

    async def list_one(self, request: Request) -> JSONResponse:
        with self.state.lock:
            return JSONResponse(_audience(self.state, request).to_json())

    async def search(self, request: Request) -> JSONResponse:
        query = (request.query_params.get("query") or "").strip().lower()
        if not query:
            raise Problem(400, detail="query is required.")
        only = request.query_params.get("list_id")
        exact: list[dict[str, Any]] = []
        partial: list[dict[str, Any]] = []
        with self.state.lock:
            for audience in self.state.audiences.values():
                if only and audience.id != only:
                    continue
                for m in audience.members.values():
                    if m.status == "archived":
                        continue  # archived contacts are not searched
                    names = (
                        str(m.merge_fields.get("FNAME", "")),
                        str(m.merge_fields.get("LNAME", "")),
                    )
                    if m.email_address.lower() == query:
                        exact.append(m.to_json(audience))
                    elif query in m.email_address.lower() or any(query in n.lower() for n in names):
                        partial.append(m.to_json(audience))
        return JSONResponse(
            {
                "exact_matches": {"members": exact[:10], "total_items": len(exact)},
                "full_search": {"members": partial[:10], "total_items": len(partial)},
            }
        )

    async def members(self, request: Request) -> JSONResponse:
        params = request.query_params
        status = params.get("status")
        if status and status not in STATUSES:
            raise Problem(400, detail=f"status must be one of {', '.join(sorted(STATUSES))}.")
        try:
            since = (
                parse_stamp(params["since_last_changed"])
                if params.get("since_last_changed")
                else None
            )
            before = (
                parse_stamp(params["before_last_changed"])
                if params.get("before_last_changed")
                else None
            )
        except ValueError:
            raise Problem(400, detail="Dates must be in ISO 8601 format.") from None
        sort_field = params.get("sort_field")
        if sort_field and sort_field not in ("last_changed", "timestamp_opt", "timestamp_signup"):
            raise Problem(
                400, detail="sort_field must be last_changed, timestamp_opt or timestamp_signup."
            )
        with self.state.lock:
            audience = _audience(self.state, request)
            chosen = [
                m
                for m in audience.members.values()
                if (m.status == status if status else m.status != "archived")
                and (since is None or m.last_changed >= since)
                and (before is None or m.last_changed < before)
            ]
            if sort_field:
                reverse = params.get("sort_dir", "ASC").upper() == "DESC"
                # A member never opted in has no timestamp_opt: such members sort last.
                chosen.sort(
                    key=lambda m: (getattr(m, sort_field) is None, getattr(m, sort_field) or 0),
                    reverse=reverse,
                )
            page = [m.to_json(audience) for m in _page(request, chosen)]
        return JSONResponse({"members": page, "list_id": audience.id, "total_items": len(chosen)})

    async def add(self, request: Request) -> JSONResponse:
        body = await _body(request)
        now = self.state.clock()
        with self.state.lock:
            audience = _audience(self.state, request)
            email = body.get("email_address")
            if isinstance(email, str) and subscriber_hash(email) in audience.members:
                raise Problem(
                    400,
                    "Member Exists",
                    f"{email} is already a list member. Use PUT to insert or update list members.",
                )
            member = new_member(audience, body, body.get("status"), now)
            audience.members[member.id] = member
            return JSONResponse(member.to_json(audience))

    async def get_member(self, request: Request) -> JSONResponse:
        with self.state.lock:
            audience, member = _member(self.state, request)
            return JSONResponse(member.to_json(audience))

    def _update(self, audience: Audience, member: Member, body: Mapping[str, Any]) -> None:
        """Apply a PATCH body: all of it or, when any part is invalid, none of it."""
        now = self.state.clock()
        new_email = body.get("email_address")
        moves = isinstance(new_email, str) and new_email.lower() != member.email_address.lower()
        if moves:
            assert isinstance(new_email, str)
            if not EMAIL.match(new_email):
                raise Problem(400, detail="Please provide a valid email address.")
            if subscriber_hash(new_email) in audience.members:
                raise Problem(400, "Member Exists", f"{new_email} is already a list member.")
            if subscriber_hash(new_email) in audience.forgotten:
                raise forgotten(new_email)
        fields = merged(member, body["merge_fields"]) if "merge_fields" in body else None
        if "status" in body:
            check_status(member, body["status"])
        changed = fields is not None and fields != member.merge_fields
        if fields is not None:
            member.merge_fields = fields
        if "status" in body:
            changed = set_status(member, body["status"], now) or changed
        if isinstance(new_email, str) and new_email != member.email_address:
            del audience.members[member.id]
            member.email_address = new_email
            audience.members[member.id] = member
            changed = True
        if changed:
            member.last_changed = now

    async def patch_member(self, request: Request) -> JSONResponse:
        body = await _body(request)
        with self.state.lock:
            audience, member = _member(self.state, request)
            self._update(audience, member, body)
            return JSONResponse(member.to_json(audience))

    async def put_member(self, request: Request) -> JSONResponse:
        body = await _body(request)
        with self.state.lock:
            audience = _audience(self.state, request)
            wanted = _hash(request)
            email = body.get("email_address")
            if not isinstance(email, str) or subscriber_hash(email) != wanted:
                raise Problem(
                    400, detail="email_address must be given and match the subscriber hash."
                )
            member = audience.members.get(wanted)
            if member is None:
                status = body.get("status_if_new", body.get("status"))
                if status is None:
                    raise Problem(400, detail="status_if_new is required to add a new member.")
                member = new_member(audience, body, status, self.state.clock())
                audience.members[member.id] = member
            else:
                if member.status == "archived" and "status" not in body:
                    body = {**body, "status": body.get("status_if_new", "subscribed")}
                self._update(
                    audience, member, {k: v for k, v in body.items() if k != "email_address"}
                )
            return JSONResponse(member.to_json(audience))

    async def archive(self, request: Request) -> Response:
        with self.state.lock:
            _, member = _member(self.state, request)
            member.status = "archived"
            member.last_changed = self.state.clock()
        return Response(status_code=204)

    async def forget(self, request: Request) -> Response:
        with self.state.lock:
            audience, member = _member(self.state, request)
            del audience.members[member.id]
            audience.forgotten.add(member.id)
        return Response(status_code=204)

    async def tags(self, request: Request) -> JSONResponse:
        with self.state.lock:
            _, member = _member(self.state, request)
            items = [
                {"id": t.id, "name": t.name, "date_added": stamp(t.date_added)} for t in member.tags
            ]
        return JSONResponse({"tags": _page(request, items), "total_items": len(items)})

    async def set_tags(self, request: Request) -> Response:
        body = await _body(request)
        tags = body.get("tags")
        if not isinstance(tags, list) or not all(
            isinstance(t, dict) and isinstance(t.get("name"), str) for t in tags
        ):
            raise Problem(400, detail='tags must be a list of {"name", "status"} objects.')
        now = self.state.clock()
        with self.state.lock:
            audience, member = _member(self.state, request)
            for tag in tags:
                present = [t for t in member.tags if t.name == tag["name"]]
                if tag.get("status", "active") == "inactive":
                    member.tags = [t for t in member.tags if t.name != tag["name"]]
                elif not present:
                    member.tags.append(audience.tag(tag["name"], now))
        return Response(status_code=204)

    async def activity(self, request: Request) -> JSONResponse:
        with self.state.lock:
            audience, member = _member(self.state, request)
            feed = [dict(a) for a in reversed(member.activity)]  # newest first
        return JSONResponse(
            {
                "activity": _page(request, feed),
                "email_id": member.id,
                "list_id": audience.id,
                "total_items": len(feed),
            }
        )


async def _problem_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return JSONResponse(
        exc.body, status_code=exc.body["status"], media_type="application/problem+json"
    )


async def _http_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return problem(exc.status_code)


def build(context: SandboxContext) -> VendorApp:
    """The Mailchimp sandbox over the demo shop's people (see :mod:`mailchimp_state`)."""
    state = MailchimpState(context.people, sandbox_key(context.shop_url))
    api = MailchimpApi(state)
    app = Starlette(
        routes=api.routes(),
        exception_handlers={Problem: _problem_handler, HTTPException: _http_handler},
    )
    return VendorApp(
        app=Guard(app, state),
        snapshot=state.snapshot,
        credentials={"api_key": state.api_key},
        state=state,
    )


def _fault_body(status: int) -> Mapping[str, Any]:
    return error_body(status)


VENDOR = Vendor(name="mailchimp", reference=REFERENCE, build=build, error_body=_fault_body)
