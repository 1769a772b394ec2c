"""Plain data of the auth domain."""

from __future__ import annotations

import datetime as dt
import re
import string
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from engine.auth.roles import ROLES
from engine.clock import DayIn, InstantIn
from engine.json_body import JsonBody

#: What an auditor's grant shows of patients: everything (`full`), or each patient identifier replaced by
#: a pseudonym stable for the grant (`pseudonymised`: HIPAA's minimum necessary, 45 CFR 164.502(b)).
PhiAccess = Literal["full", "pseudonymised"]

#: An API token's id as issued: `TK-` and 12 hex digits; tokens issued before 2026-12-03 keep their
#: `T-...` ids and still sign requests (and their `via_token`), so a filter by token takes both.
TOKEN_ID = re.compile(r"^TK?-[0-9a-f]{12}$")
#: the longest token id a filter takes (the token table's id column)
TOKEN_ID_MAX = 40


def check_token_id(value: str | None) -> str | None:
    """A filter's token id, refused in words when it could name no token (blank: no filter).

    A typo (`tk-...`, a token's secret `vgl_...` pasted instead of its id) had matched nothing and
    read as "this token did nothing", the wrong answer when a leaked token is being looked into."""
    if value and not TOKEN_ID.match(value):
        raise ValueError("not an API token's id: TK- and 12 hex digits, as `vigil users tokens USERNAME` "
                         "or GET /users/{username}/tokens lists them (not the token's secret)")
    return value


class Grant(BaseModel):
    id: str
    framework: str
    window_from: dt.date
    window_to: dt.date
    establishments: list[str] | None = None
    expires_at: dt.datetime
    revoked_at: dt.datetime | None = None
    phi: PhiAccess = "full"


class User(BaseModel):
    id: str
    org_id: str
    username: str
    role: str
    display_name: str
    person_id: str | None = None
    active: bool = True


class Principal(BaseModel):
    """Who is calling, with the auditor grant in force (if any)."""

    user: User
    grant: Grant | None = None
    via: str = "token"  # token | session
    #: the id (TK-...) of the API token or web session the request was signed with
    token_id: str | None = None

    @property
    def org_id(self) -> str:
        return self.user.org_id

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def actor(self) -> str:
        return f"user:{self.user.username}"


PASSWORD_MIN = 10
PASSWORD_MAX = 200


#: Words that open every guessing list (NIST SP 800-63B asks a verifier to refuse commonly used
#: passwords, dictionary words and repetitive or sequential characters, and words of the service).
#: A password that is one of these once digits and signs are taken off its ends is refused:
#: `password1234` meets a 10-character minimum and is among the first tried.
COMMON_WORDS = frozenset({
    "password", "passwort", "qwerty", "qwertyuiop", "asdfgh", "asdfghjkl", "letmein", "welcome",
    "admin", "administrator", "iloveyou", "monkey", "dragon", "football", "baseball", "sunshine", "princess",
    "changeme", "secret", "login", "master", "trustno", "abc", "abcdef", "abcdefghij", "test", "guest",
    "vigil", "hipaa", "compliance", "summer", "winter", "spring", "autumn", "default", "user",
})
#: Runs a password may not be a stretch of (forwards or backwards): digits, the alphabet, keyboard rows.
SEQUENCES = ("01234567890123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm",
             "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p", "zaq1xsw2cde3vfr4bgt5nhy6mju7",  # the keyboard's columns
             "zaq12wsxcde34rfvbgt56yhnmju78ik,.lo90p;/")  # its columns walked up and down in turn
#: Signs and digits written for letters ("p@ssw0rd"): a common word so spelled is the same guess.
_LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e", "$": "s", "5": "s", "7": "t"})
_SIGNS = string.punctuation + string.whitespace
_ENDS = string.digits + _SIGNS
_DIGITS_WITH_A_LETTER_OR_TWO = re.compile(r"[a-z]{0,2}([0-9]{3,})[a-z]{0,2}")
#: A short piece said again and again (abc123abc123, hello!hello!): as easily guessed as the piece.
_A_PIECE_REPEATED = re.compile(r"(.{1,6}?)\1+", re.DOTALL)


def _in_a_run(text: str) -> bool:
    return bool(text) and any(text in run or text in run[::-1] for run in SEQUENCES)


def password_problem(password: str, *, username: str) -> str | None:
    """Why `password` may not be anyone's password (None when it may): all blanks, the username
    again (in any case, or with digits or signs about it), a common word with digits or signs about
    it, one or two characters or a short piece repeated, or a run of digits, letters or keys (with
    digits or signs about it). The length is checked by the field itself."""
    if not password.strip():
        return "a password of spaces only is not a password: choose one with letters, digits or signs"
    folded = password.strip().casefold()
    core, bare = folded.strip(_ENDS), folded.strip(_SIGNS)  # less digits and signs; less signs only
    # the digits of a run with a letter or two about it (0123456789ab); a number inside words is not one
    numeric = found.group(1) if (found := _DIGITS_WITH_A_LETTER_OR_TWO.fullmatch(bare)) else ""
    user = username.strip().casefold()
    user_core = user.strip(_ENDS)
    if user and (user in (folded, core, bare) or (user_core and user_core == core)):
        return "the password is the username: anyone who knows the one knows the other; choose another"
    word = core.translate(_LEET)  # signs and digits written for letters; a plain word is left as it is
    if word in COMMON_WORDS:
        return (f"the password is the common word {word!r} with digits or signs in or about it, among the first "
                "guesses tried: choose a few unrelated words instead")
    runs = [folded, bare] + [t for t in (core, numeric) if len(t) >= 3]  # a letter or two is in every run
    if len(set(folded)) <= 2 or (len(core) >= 4 and len(set(core)) <= 2) or any(_in_a_run(t) for t in runs):
        return ("the password is one or two characters repeated, or a run such as 1234567890 or qwertyuiop: "
                "choose a few unrelated words")
    if any(_A_PIECE_REPEATED.fullmatch(t) for t in (folded, bare, core)):
        return ("the password is a short piece said again and again (such as abc123abc123): "
                "choose a few unrelated words")
    return None


class UserIn(JsonBody):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is a 422, not ignored

    username: str = Field(min_length=2, max_length=120, pattern=r"^[a-zA-Z0-9_.@-]+$")
    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)
    role: str = Field(description=f"one of {', '.join(ROLES)}")
    display_name: str | None = Field(default=None, max_length=200)
    person_id: str | None = Field(default=None, description="the person record this user is (staff: whose tasks "
                                  "they see); a person of the org")

    @field_validator("role")
    @classmethod
    def _known_role(cls, role: str) -> str:
        """Checked here, with the other fields, so a form or command with several mistakes hears of all."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role[:40]!r}: one of {', '.join(ROLES)}")
        return role

    @field_validator("password")
    @classmethod
    def _guessable_password(cls, password: str, info: ValidationInfo) -> str:
        """Named by its field: a model-wide error had said "body" (username comes first, so it is here)."""
        problem = password_problem(password, username=str(info.data.get("username") or ""))
        if problem is not None:
            raise ValueError(problem)
        return password


class PasswordChange(JsonBody):
    """A signed-in user's new password, with the current one (a session left open on a shared
    screen must not be enough to take the account over)."""

    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=PASSWORD_MAX)
    new_password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


class PasswordReset(JsonBody):
    """An admin's reset: the user's new password (tell it to them; they change it themselves)."""

    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


class Unlocked(BaseModel):
    """What `unlock` did: the failed logins it cleared (0 when the account was not locked)."""

    user: User
    failures_cleared: int
    was_locked: bool


class GrantIn(JsonBody):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is a 422, not ignored

    framework: str = Field(max_length=40, examples=["hipaa"], description="a framework with a ruleset")
    window_from: DayIn
    window_to: DayIn
    establishments: list[str] | None = Field(default=None, max_length=500, description="establishment records "
                                             "of the org; leave out for all")
    expires_at: InstantIn = Field(description="with an offset; in the future", examples=["2027-06-30T23:59:59Z"])
    phi: PhiAccess = Field(default="full", description="`pseudonymised`: every patient identifier the auditor "
                           "reads (findings, the records they cite, waivers) is a pseudonym stable for this "
                           "grant, and only PHI-redacted packets are listed and downloadable")


    @field_validator("establishments")
    @classmethod
    def _once_each(cls, establishments: list[str] | None) -> list[str] | None:
        """Each establishment once, in the order given: a list of one site a thousand times had been
        stored as given, and shown so on every page that says what the grant covers."""
        return list(dict.fromkeys(establishments)) if establishments is not None else None


class IssuedToken(BaseModel):
    id: str
    token: str = Field(description="shown once; only its hash is stored")
    expires_at: dt.datetime
    note: str | None = Field(default=None, description="set when the token was given a shorter life than asked "
                             "for: an auditor's token ends with their grant")


class TokenInfo(BaseModel):
    id: str
    name: str
    kind: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None = None
