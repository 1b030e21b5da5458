"""The one URL redactor: every URL that is shown, logged, stored or sent goes through it.

Redis URLs carry secrets in two places: the userinfo (``redis://user:password@host``) and
query parameters (``?password=``, ``?sentinel_password=`` for Sentinel URLs, ``?ssl_password=``),
and webhook URLs often carry tokens in the query. Both are replaced by ``***``; everything else
(hosts, ports, path, other parameters) is kept as written so an operator can still tell which
server is meant. Standard library only: the library and the dashboard both use it.
"""

from __future__ import annotations

from urllib.parse import unquote

MASK = "***"

#: A query parameter whose (lower-case, decoded) name contains one of these holds a secret.
SENSITIVE_NAME_PARTS = (
    "pass",  # password, sentinel_password, ssl_password, passwd, passphrase
    "pwd",
    "secret",
    "token",
    "auth",
    "key",  # api_key, apikey, access_key; ssl_keyfile is only a path, masking it costs nothing
    "credential",
    "signature",
    "sig",
)


def is_sensitive_parameter(name: str) -> bool:
    """Whether a query parameter called ``name`` is treated as a secret."""
    lowered = unquote(name).strip().lower()
    return any(part in lowered for part in SENSITIVE_NAME_PARTS)


def redact_url(url: str) -> str:
    """``url`` with the password of its userinfo and every sensitive query value masked.

    Never raises; idempotent. Works on URLs with several hosts (``h1:1,h2:2``), which the
    standard parser does not accept, by splitting the text itself.
    """
    rest, hash_mark, fragment = url.partition("#")
    rest, question_mark, query = rest.partition("?")
    scheme, separator, after = rest.partition("://")
    if separator:
        # The authority ends at the first "/" after its last "@": a password may hold an
        # unencoded "/" (masking too much of an odd path is the safe way to be wrong).
        start = after.rfind("@") + 1
        end = after.find("/", start)
        authority, path = (after, "") if end < 0 else (after[:end], after[end:])
        rest = f"{scheme}://{_redact_authority(authority)}{path}"
    if question_mark:
        rest += "?" + _redact_query(query)
    if hash_mark:
        rest += "#" + fragment
    return rest


def _redact_authority(authority: str) -> str:
    if "@" not in authority:
        return authority
    userinfo, hosts = authority.rsplit("@", 1)
    if ":" not in userinfo:
        return authority  # a user name alone, nothing secret in it
    user = userinfo.split(":", 1)[0]
    return f"{user}:{MASK}@{hosts}"


def _redact_query(query: str) -> str:
    # Split by hand (not parse_qsl / urlencode) so the parameters that stay are kept byte for
    # byte; ``;`` is a separator for some parsers, so it is one here too.
    pieces = []
    for item in query.replace(";", "&").split("&"):
        name, equals, _value = item.partition("=")
        pieces.append(f"{name}={MASK}" if equals and is_sensitive_parameter(name) else item)
    return "&".join(pieces)
