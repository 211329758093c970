"""The ``google_analytics`` connector: erasure through Google's User Deletion API.

Sources:

- User Deletion API v3, ``userDeletionRequests: upsert``
  (https://developers.google.com/analytics/devguides/config/userdeletion/v3/reference):
  one id per request — ``CLIENT_ID`` (the ``_ga`` cookie's last two parts) or ``USER_ID``
  (what the shop sends as ``user_id`` for logged-in customers) — with the GA4
  ``propertyId``; scope ``analytics.user.deletion``. Google removes the data from reports
  within 72 hours and from its servers in the next deletion run (every two months);
  aggregated reports and BigQuery exports are not affected.
- Admin API v1beta ``properties.getDataRetentionSettings``
  (https://developers.google.com/analytics/devguides/config/admin/v1/rest/v1beta/properties/getDataRetentionSettings),
  read by :meth:`GoogleAnalyticsConnector.describe` (scope ``analytics.readonly``).
- OAuth2 refresh-token grant at ``https://oauth2.googleapis.com/token``
  (https://developers.google.com/identity/protocols/oauth2/web-server#offline), through
  :mod:`personvern.connectors.oauth`.

GA4 has no per-person export (the Reporting API's ``userActivity:search`` only ever served
Universal Analytics), so the connector cannot ``access``: the plan turns that step into a
manual task, whose text comes from this connector's ``instructions``, ``contact_url`` and
``contact_email`` settings (:func:`personvern.dsr.drafts.manual_task`).

Where the ids come from: the person may paste their ``_ga`` cookie on the request form
(:func:`client_id_from_ga`, giving ``Identity.ga_client_id``), and with
``user_id_from: customer_id`` the shop's customer id is GA's ``user_id`` (the GA4 User-ID
feature, https://developers.google.com/analytics/devguides/collection/ga4/user-id). A
request knows the person's e-mail address, not their customer id, so with ``user_id_url``
(the shop's database) the connector maps the one to the other itself, by ``user_id_query``
(:mod:`personvern.connectors.user_id_mapping`); an ``Identity.customer_id`` given by the
caller is used as well. Without any id, an erasure changes nothing and says what the shop
must do; GDPR Art. 11(2) does not oblige the shop to collect more data only to find someone
in its analytics. The mapping must be read before the shop's own erasure removes the
address; the executor does not order steps yet, so the note for "no account found" says
what to do when the shop's erasure came first (docs/connector-google-analytics.md).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from personvern.connectors.base import (
    Capability,
    Connector,
    ErasurePlan,
    ErasureResult,
    Fact,
    Fatal,
    Identity,
    IdentityType,
)
from personvern.connectors.http import VendorApi
from personvern.connectors.oauth import BearerAuth, TokenSource
from personvern.connectors.user_id_mapping import DEFAULT_QUERY, UserIdMapping, query_problem

GOOGLE_API: Final = "https://www.googleapis.com"
GOOGLE_ADMIN_API: Final = "https://analyticsadmin.googleapis.com"
GOOGLE_TOKEN_URL: Final = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL)
SCOPE_DELETION: Final = "https://www.googleapis.com/auth/analytics.user.deletion"
SCOPES_READ: Final = frozenset(
    {
        "https://www.googleapis.com/auth/analytics.readonly",
        "https://www.googleapis.com/auth/analytics.edit",
    }
)
UPSERT: Final = "/analytics/v3/userDeletion/userDeletionRequests:upsert"
COLLECTION: Final = "users"  # a visitor's data in GA, keyed by client id or user id

# _ga = "GA1.<domain depth>.<random>.<first visit, Unix seconds>"; the client id is the
# last two parts. People copy it with the cookie name, in quotes, or already shortened.
_GA = re.compile(r"^(?:_ga=)?(?:GA1\.\d{1,2}\.)?(?P<random>\d{1,20})\.(?P<time>\d{9,11})$")
_SESSION_COOKIE = re.compile(r"^(?:_ga_[A-Z0-9]+=)?GS\d\.", re.IGNORECASE)

RETENTION: Final = {
    "TWO_MONTHS": "2 months",
    "FOURTEEN_MONTHS": "14 months",
    "TWENTY_SIX_MONTHS": "26 months",
    "THIRTY_EIGHT_MONTHS": "38 months",
    "FIFTY_MONTHS": "50 months",
}


def client_id_from_ga(value: str) -> str:
    """The GA client id in a ``_ga`` cookie value (or a client id as it is).

    ``GA1.1.1234567890.1700000000`` → ``1234567890.1700000000``. Raises ``ValueError``
    saying what to copy instead when the value is not a ``_ga`` value or client id.
    """
    text = value.strip().strip("\"'").strip()
    if _SESSION_COOKIE.match(text):
        raise ValueError(
            "that is the value of a _ga_… session cookie; copy the value of the cookie "
            "named exactly _ga, which starts with GA1."
        )
    found = _GA.match(text)
    if found is None:
        raise ValueError(
            "that is not a _ga value: it looks like GA1.1.1234567890.1700000000 (or the "
            "client id alone, 1234567890.1700000000)"
        )
    return f"{int(found['random'])}.{found['time']}"


class GoogleAnalyticsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    property_id: str = Field(description="the GA4 property id (digits; set property_id_env)")
    client_id: str | None = Field(default=None, description="OAuth client id")
    client_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None
    credentials_file: Path | None = Field(
        default=None,
        description="an authorized_user credentials JSON (gcloud application-default login)",
    )
    user_id_from: Literal["customer_id"] | None = Field(
        default=None, description="what the shop sends to GA as user_id"
    )
    user_id_url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy URL of the shop's database, to map an e-mail address to the "
        "customer id (set user_id_url_env)",
    )
    user_id_query: str = Field(
        default=DEFAULT_QUERY,
        description="SELECT returning the customer ids for the bound parameter :email",
    )
    base_url: str = GOOGLE_API
    admin_url: str | None = None  # default: Google's, or base_url when that is a stand-in
    token_url: str | None = None  # default: Google's, or base_url + /token
    timeout: float = 15.0
    # Read by the planner for the manual access task (personvern.dsr.drafts).
    contact_email: EmailStr | None = None
    contact_url: str | None = None
    instructions: str | None = None
    # A checklist for those tasks, in bokmål and English: checked by the planner
    # (personvern.connectors.manual.checklist), carried here only so it is not refused.
    checklist: str | list[Any] = Field(default_factory=list)
    customer_lists: bool = False

    @field_validator("property_id")
    @classmethod
    def _digits(cls, value: str) -> str:
        value = value.strip().removeprefix("properties/")
        if not value.isdigit():
            raise ValueError(
                "property_id is the GA4 property's number (Admin → Property details), "
                "e.g. 412345678; not a G-… measurement id"
            )
        return value

    @field_validator("user_id_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        # An inventory writes user_id_url: "" as the default beside user_id_url_env, so
        # that where the variable is not set there is no mapping (docs: the inventory).
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, SecretStr) and not value.get_secret_value().strip():
            return None
        return value

    @field_validator("user_id_query")
    @classmethod
    def _one_email_parameter(cls, value: str) -> str:
        problem = query_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _user_id_lookup(self) -> GoogleAnalyticsSettings:
        if self.user_id_url is not None and self.user_id_from != "customer_id":
            raise ValueError(
                "user_id_url_env is set but user_id_from is not: set user_id_from: "
                "customer_id if the shop sends its customer ids to GA as user_id, or remove "
                "user_id_url_env"
            )
        return self

    @model_validator(mode="after")
    def _credentials(self) -> GoogleAnalyticsSettings:
        has_keys = self.client_id and self.client_secret and self.refresh_token
        if not has_keys and self.credentials_file is None:
            raise ValueError(
                "give the connector credentials_file_env (an authorized_user JSON), or "
                "client_id, client_secret_env and refresh_token_env"
            )
        return self


@dataclass(frozen=True)
class _Client:
    client_id: str
    client_secret: SecretStr
    refresh_token: SecretStr
    token_url: str | None


def _client_from_file(path: Path) -> _Client:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Fatal(f"the Google credentials file {path} does not exist; fix the path") from None
    except (OSError, ValueError) as exc:
        raise Fatal(f"cannot read the Google credentials file {path}: {exc}") from None
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "service_account":
        raise Fatal(
            f"{path} is a service-account key, which this connector cannot sign with. Make "
            "an authorized_user file instead: gcloud auth application-default login "
            f"--scopes={SCOPE_DELETION},https://www.googleapis.com/auth/analytics.readonly"
        )
    keys = ("client_id", "client_secret", "refresh_token")
    if kind != "authorized_user" or not all(isinstance(data.get(k), str) for k in keys):
        raise Fatal(
            f"{path} is not an authorized_user credentials file with client_id, "
            "client_secret and refresh_token"
        )
    token_uri = data.get("token_uri")
    return _Client(
        data["client_id"],
        SecretStr(data["client_secret"]),
        SecretStr(data["refresh_token"]),
        token_uri if isinstance(token_uri, str) else None,
    )


class GoogleAnalyticsConnector(Connector):
    """Asks Google to delete a visitor's Analytics data, by client id or user id."""

    name: ClassVar[str] = "google_analytics"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({"erase"})
    identity_types: ClassVar[frozenset[IdentityType]] = frozenset(
        {"ga_client_id", "customer_id", "email"}
    )
    Settings: ClassVar[type[BaseModel]] = GoogleAnalyticsSettings

    def __init__(self, settings: BaseModel) -> None:
        super().__init__(settings)
        assert isinstance(settings, GoogleAnalyticsSettings)
        self.config = settings
        self._tokens: TokenSource | None = None
        self._api: VendorApi | None = None
        self._admin: VendorApi | None = None
        self._mapping: UserIdMapping | None = None

    # --- plumbing ----------------------------------------------------------------------

    def _stand_in(self) -> bool:
        return self.config.base_url.rstrip("/") != GOOGLE_API

    def _source(self) -> TokenSource:
        if self._tokens is None:
            s = self.config
            if s.client_id and s.client_secret and s.refresh_token:
                client = _Client(s.client_id, s.client_secret, s.refresh_token, None)
            else:
                assert s.credentials_file is not None  # __init__ made sure
                client = _client_from_file(s.credentials_file)
            default = s.base_url.rstrip("/") + "/token" if self._stand_in() else GOOGLE_TOKEN_URL
            self._tokens = TokenSource(
                "Google",
                s.token_url or client.token_url or default,
                client_id=client.client_id,
                client_secret=client.client_secret,
                refresh_token=client.refresh_token,
                client_auth="body",
                timeout=s.timeout,
            )
        return self._tokens

    def _deletion_api(self) -> VendorApi:
        if self._api is None:
            auth = BearerAuth(self._source())
            self._api = VendorApi(
                "Google Analytics", self.config.base_url, auth=auth, timeout=self.config.timeout
            )
        return self._api

    def _admin_api(self) -> VendorApi:
        if self._admin is None:
            s = self.config
            url = s.admin_url or (s.base_url if self._stand_in() else GOOGLE_ADMIN_API)
            auth = BearerAuth(self._source())
            self._admin = VendorApi("Google Analytics Admin API", url, auth=auth, timeout=s.timeout)
        return self._admin

    def _user_id_mapping(self) -> UserIdMapping | None:
        s = self.config
        if s.user_id_url is None:
            return None
        if self._mapping is None:
            self._mapping = UserIdMapping(s.user_id_url, s.user_id_query, timeout=s.timeout)
        return self._mapping

    async def _ids(self, identity: Identity) -> tuple[list[tuple[str, str]], list[str]]:
        """The (type, id) pairs to delete, and notes on ids that could not be used.

        Every id is known before the first upsert, so a lookup that fails sends nothing.
        """
        ids: list[tuple[str, str]] = []
        notes: list[str] = []
        if identity.ga_client_id:
            try:
                ids.append(("CLIENT_ID", client_id_from_ga(identity.ga_client_id)))
            except ValueError as exc:
                notes.append(f"the _ga value given with the request was not used: {exc}")
        if self.config.user_id_from != "customer_id":
            return ids, notes
        user_ids = [identity.customer_id] if identity.customer_id else []
        mapping = self._user_id_mapping()
        if mapping is not None and identity.email:
            found = await mapping.user_ids(identity.email)
            if not found and not user_ids:
                notes.append(
                    "No customer account with this e-mail address was found in the shop's "
                    "database (user_id_query), so no USER_ID deletion was requested: a guest "
                    "has no user id in Google Analytics. But if the person had an account "
                    "and the shop's own erasure ran before this step, the address is already "
                    "gone from the database: then find their customer number (on the orders "
                    "kept for bookkeeping) and delete that user id in Google Analytics "
                    "(Explore > User explorer > Delete user)."
                )
            user_ids.extend(found)
        ids.extend(("USER_ID", value) for value in dict.fromkeys(user_ids))
        return ids, notes

    # --- the contract ------------------------------------------------------------------

    async def check(self) -> None:
        """Get a token, confirm it may delete; read the retention setting if it may read."""
        token = await self._source().token()
        # Google lists the granted scopes with the token; an old grant may lack one.
        if token.scopes and SCOPE_DELETION not in token.scopes:
            raise Fatal(
                "the Google credentials are not allowed to delete user data: authorise "
                f"personvern again with the scope {SCOPE_DELETION} and put the new refresh "
                "token in the environment variable the inventory names"
            )
        if not token.scopes or token.scopes & SCOPES_READ:
            await self.describe()
        mapping = self._user_id_mapping()
        if mapping is not None:
            await mapping.check()

    async def erase(self, identity: Identity, plan: ErasurePlan) -> ErasureResult:
        """One ``userDeletionRequests:upsert`` per known id; a repeat counts as no change.

        Google deletes everything it holds about an id; there is no keeping some of it, so
        a hold over this system's data (``users``) keeps all of it and nothing is sent.
        """
        ids, notes = await self._ids(identity)
        held = tuple(h for h in plan.holds if h.collection == COLLECTION)
        if not ids:
            settings_hint = (
                ""
                if self.config.user_id_url is not None
                else " If the shop sends logged-in customers' ids to GA as user_id, set "
                "user_id_from: customer_id and user_id_url_env (the variable holding the "
                "shop's database URL) in this system's connector settings."
            )
            return ErasureResult(
                notes=(
                    *notes,
                    "No Google Analytics id is known for this person, so nothing was "
                    "deleted. Ask the person for the value of their _ga cookie and add it to "
                    "the request (ga_client_id)." + settings_hint,
                )
            )
        if held:
            return ErasureResult(
                kept=held,
                notes=(
                    *notes,
                    "A retention hold covers the Analytics data, and Google can only delete "
                    "all of an id's data, so no deletion was requested.",
                ),
            )
        new = 0
        times: list[str] = []
        for id_type, value in ids:
            when, sent = await self._upsert(id_type, value)
            times.append(f"{id_type} {when.isoformat()}")
            new += 0 if when < sent else 1
        notes.append(
            "Deletion requested at "
            + ", ".join(times)
            + ". Google removes the data from reports within 72 hours and from its servers "
            "in the next deletion run (every two months); aggregated reports and BigQuery "
            "exports are not affected."
        )
        return ErasureResult(deleted={COLLECTION: new} if new else {}, notes=tuple(notes))

    async def _upsert(self, id_type: str, value: str) -> tuple[datetime, datetime]:
        """The request's ``deletionRequestTime``, and when this call was sent.

        Milliseconds, as Google writes deletionRequestTime: a request that was already
        there has a time from before this call, a new one does not.
        """
        now = datetime.now(UTC)
        sent = now.replace(microsecond=now.microsecond // 1000 * 1000)
        body = await self._deletion_api().json(
            "POST",
            UPSERT,
            json={
                "kind": "analytics#userDeletionRequest",
                "id": {"type": id_type, "userId": value},
                "propertyId": self.config.property_id,
            },
        )
        raw = body.get("deletionRequestTime") if isinstance(body, dict) else None
        try:
            return datetime.fromisoformat(str(raw).replace("Z", "+00:00")), sent
        except ValueError:
            raise Fatal(
                f"Google Analytics accepted the deletion of a {id_type} but did not say when "
                "(no deletionRequestTime); check base_url points at the User Deletion API"
            ) from None

    async def describe(self) -> tuple[Fact, ...]:
        """The property's data retention, as Admin → Data collection → Data retention shows it."""
        path = f"/v1beta/properties/{self.config.property_id}/dataRetentionSettings"
        body = await self._admin_api().json("GET", path)
        if not isinstance(body, dict):
            raise Fatal(f"the Admin API answered GET {path} with no settings")

        def months(key: str) -> str:
            value = str(body.get(key, ""))
            return RETENTION.get(value, value or "unknown")

        reset = body.get("resetUserDataOnNewActivity")
        return (
            Fact("Event data retention", months("eventDataRetention"), path),
            Fact("User data retention", months("userDataRetention"), path),
            Fact("Reset user data on new activity", "yes" if reset else "no", path),
        )

    async def aclose(self) -> None:
        for api in (self._api, self._admin):
            if api is not None:
                await api.aclose()
        self._api = self._admin = None
        if self._mapping is not None:
            await self._mapping.aclose()
            self._mapping = None
        if self._tokens is not None:
            await self._tokens.aclose()
            self._tokens = None
