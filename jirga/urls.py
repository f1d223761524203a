"""Article links: resolve them against the feed, refuse what is not a web page, and canonicalise.

The canonical URL is what two copies of one article share however a feed decorated the link:
tracking parameters, host case, default ports, fragments and percent-encoding spelling go.

Tracking parameters dropped (names compared case-insensitively), gathered from the lists kept by
Firefox's query stripping, ClearURLs and Brave's debouncing, plus the ones news feeds in our
region add (the BBC's ``at_*`` and old ``ns_*``, NYT's ``smid``):

* any name starting ``utm_`` (Google Analytics campaign tags), ``mtm_`` or ``pk_`` (Matomo);
* click ids: ``fbclid`` (Facebook), ``gclid gclsrc dclid gbraid wbraid`` (Google Ads),
  ``msclkid`` (Microsoft), ``twclid`` (X), ``ttclid`` (TikTok), ``li_fat_id`` (LinkedIn),
  ``yclid`` (Yandex), ``igshid igsh`` (Instagram), ``srsltid`` (Google Shopping);
* analytics and mail: ``_ga _gl`` (Google), ``mc_cid mc_eid`` (Mailchimp), ``_hsenc _hsmi
  __hssc __hstc __hsfp`` (HubSpot), ``mkt_tok`` (Marketo), ``oly_anon_id oly_enc_id`` (Omeda),
  ``vero_id vero_conv`` (Vero), ``_openstat`` (Yandex), ``s_cid s_kwcid`` (Adobe), ``xtor``
  (AT Internet);
* publishers' campaign tags: ``at_medium at_campaign at_custom1..4 at_link_id at_link_origin
  at_link_type at_ptr_name at_bbc_team at_format`` (BBC via AT Internet/Piano), ``ns_mchannel
  ns_source ns_campaign ns_linkname ns_fee`` (BBC via comScore, older feeds), ``cmpid cmp
  intcmp`` (campaign ids, e.g. the Guardian), ``ocid cvid`` (MSN), ``ref_src ref_url`` (X
  embeds), ``smid smtyp`` (NYT sharing), ``guccounter guce_referrer guce_referrer_sig`` (Yahoo's
  consent redirect), ``rss_source``, ``fb_action_ids fb_action_types fb_ref fb_source``.

Deliberately kept: generic names such as ``ref``, ``source``, ``id`` or ``page``, which some sites
use to pick the article itself.
"""

from __future__ import annotations

import functools
import html
import re
from urllib.parse import urljoin, urlsplit

# Longer links are refused: the sitemap protocol's limit, what browsers reliably handle, and the
# width of the url columns in storage.
MAX_URL_CHARS = 2048

TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "mtm_", "pk_")
TRACKING_PARAMS: frozenset[str] = frozenset(
    """
    fbclid gclid gclsrc dclid gbraid wbraid msclkid twclid ttclid li_fat_id yclid igshid igsh
    srsltid _ga _gl mc_cid mc_eid _hsenc _hsmi __hssc __hstc __hsfp mkt_tok oly_anon_id
    oly_enc_id vero_id vero_conv _openstat s_cid s_kwcid xtor
    at_medium at_campaign at_custom1 at_custom2 at_custom3 at_custom4 at_link_id at_link_origin
    at_link_type at_ptr_name at_bbc_team at_format
    ns_mchannel ns_source ns_campaign ns_linkname ns_fee cmpid cmp intcmp ocid cvid ref_src
    ref_url smid smtyp guccounter guce_referrer guce_referrer_sig rss_source
    fb_action_ids fb_action_types fb_ref fb_source
    """.split()  # noqa: SIM905 - a word list reads better than 66 quoted strings
)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SUB_DELIMS = "!$&'()*+,;="
# Characters that may stand unencoded in each part (RFC 3986 section 3.3 and 3.4); "%" is
# handled on its own.
_PATH_SAFE = frozenset(_UNRESERVED | set(_SUB_DELIMS) | set(":@/"))
_QUERY_SAFE = frozenset(_PATH_SAFE | set("?"))
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_HOST_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$")
# What the WHATWG URL parser ignores: ASCII tab and newline anywhere, C0 controls and spaces at
# the ends. Browsers read "jav\tascript:" as "javascript:", so must we.
_TAB_NEWLINE = re.compile("[\t\n\r]")
_EDGE_CONTROL = "".join(chr(c) for c in range(0x21))
_OTHER_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
# Character references a sloppy feed leaves in a link after XML decoding ("&amp;" for "&"). Only
# these, with their semicolon: html.unescape would also read "&copy=1" in a query as "(c)=1".
_LINK_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|amp|quot|apos|lt|gt);")


def is_tracking_param(name: str) -> bool:
    """Whether a query parameter name is a known tracking tag (see the module docstring)."""
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def _strip_link(link: str) -> str:
    link = _LINK_ENTITY.sub(lambda m: html.unescape(m.group(0)), link)
    link = _TAB_NEWLINE.sub("", link).strip(_EDGE_CONTROL)
    return _OTHER_CONTROL.sub("", link).replace(" ", "%20")


def _normalise_percent(part: str, safe: frozenset[str]) -> str:
    """Unreserved escapes decoded (%7E is ~), other escapes upper-cased, the rest encoded."""
    out: list[str] = []
    i = 0
    while i < len(part):
        ch = part[i]
        if ch == "%":
            match = _PERCENT.match(part, i)
            if match:
                decoded = chr(int(match.group(1), 16))
                out.append(decoded if decoded in _UNRESERVED else "%" + match.group(1).upper())
                i += 3
                continue
            out.append("%25")  # a stray "%" that starts no escape
        elif ch in safe:
            out.append(ch)
        else:
            out.extend(f"%{byte:02X}" for byte in ch.encode("utf-8"))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4: "/a/./b/../c" is "/a/c"."""
    segments: list[str] = []
    for segment in path.split("/")[1:]:
        if segment == "..":
            if segments:
                segments.pop()
        elif segment != ".":
            segments.append(segment)
    if path.endswith(("/.", "/..")):
        segments.append("")
    return "/" + "/".join(segments)


def _canonical_host(host: str) -> str | None:
    """The host lower-cased and IDNA-encoded, or None if it is not a valid host name."""
    if ":" in host:  # an IPv6 literal; urlsplit has removed the brackets
        return f"[{host.lower()}]" if re.fullmatch(r"[0-9a-fA-F:.]+", host) else None
    host = host.rstrip(".")
    if not host:
        return None
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    labels = ascii_host.split(".")
    if not all(_HOST_LABEL.match(label) for label in labels):
        return None
    return ascii_host


def _canonical_query(query: str) -> str:
    kept: list[str] = []
    for pair in query.split("&"):
        if not pair:
            continue
        name = pair.split("=", 1)[0]
        if is_tracking_param(_PERCENT.sub(lambda m: chr(int(m.group(1), 16)), name)):
            continue
        kept.append(_normalise_percent(pair, _QUERY_SAFE))
    return "&".join(kept)


def canonical_url(url: str) -> str | None:
    """The canonical form of an absolute http(s) URL, or None if it is not one.

    Scheme and host lower-cased (host IDNA-encoded, trailing dot dropped), user info, default
    port and fragment dropped, dot segments removed, an empty path made "/", percent-encoding
    normalised (unreserved escapes decoded, hex upper-cased, other characters encoded as UTF-8),
    and tracking parameters removed; the other query parameters keep their order. None too
    when the result is longer than :data:`MAX_URL_CHARS`.
    """
    # An article's link is canonicalised three times on its way to storage, and every entry's
    # base is its feed's URL: remembered, the repeats cost nothing. Only URLs of a sane length
    # are remembered, so a hostile feed cannot fill the cache with megabytes.
    if len(url) <= MAX_URL_CHARS:
        return _canonical_remembered(url)
    return _canonical(url)


@functools.lru_cache(maxsize=4096)
def _canonical_remembered(url: str) -> str | None:
    return _canonical(url)


def _canonical(url: str) -> str | None:
    try:
        parts = urlsplit(_strip_link(url))
        port = parts.port
    except ValueError:  # a malformed IPv6 literal or a port that is not a number
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = _canonical_host(parts.hostname)
    if host is None:
        return None
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    path = _remove_dot_segments(_normalise_percent(parts.path or "/", _PATH_SAFE))
    query = _canonical_query(parts.query)
    canonical = f"{scheme}://{host}{path}" + (f"?{query}" if query else "")
    return canonical if len(canonical) <= MAX_URL_CHARS else None


def absolute_link(link: str | None, base: str | None) -> str | None:
    """An article link made absolute against ``base`` (the feed URL), or None if unusable.

    Character references left in the link are decoded (``&amp;``, ``&#9;``), then tabs, newlines
    and control characters removed as a browser would, so an obfuscated ``jav&#9;ascript:`` is
    seen for what it is; spaces are encoded. Anything that does not end as
    an absolute http(s) URL with a valid host is refused: javascript:, data:, file:, mailto:,
    a relative link without a usable base, anything longer than :data:`MAX_URL_CHARS`.
    """
    if not link:
        return None
    link = _strip_link(link)
    if not link:
        return None
    if base:
        clean_base = _strip_link(base)
        if canonical_url(clean_base) is not None:
            link = urljoin(clean_base, link)
    if len(link) > MAX_URL_CHARS or canonical_url(link) is None:
        return None
    return link
