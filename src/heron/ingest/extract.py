"""Main-content extraction: HTML → clean text with headings kept as ``#`` lines.

Three extractors share one interface (:func:`extract_text`):

* ``heron`` (default): resiliparse's main-content extraction (a C DOM parser, lexbor) with
  comments, post metadata, ``aside``/``nav``/``footer``/``figcaption`` skipped, followed by a
  line filter that drops what is left of page chrome: copies of the headline, leading headings, share /
  cookie / subscribe / advert lines, date-only and by-lines, CSS-token lines, repeated lines,
  ALL-CAPS teaser links and everything after a trailing "Related articles" / "Comments" marker.
  Headings come out as markdown-ish ``## Heading`` lines so snippets follow sections.
* ``resiliparse``: resiliparse's ``extract_plain_text(main_content=True)`` as shipped.
* ``trafilatura``: trafilatura's ``extract`` (precision mode). Best F1 of the three on the
  article-extraction benchmark but ~10x slower (lxml + Python heuristics + fallbacks).

``benchmarks/ingest_extraction.py`` measures all three on the shared ground truth.
"""

from __future__ import annotations

import html as _html
import re
from typing import Any

from heron.errors import ConfigError

EXTRACTORS = ("heron", "resiliparse", "trafilatura")

_SKIP = ["figcaption", "aside", "nav", "footer"]
_HEADING_TAG = re.compile(r"<h([1-6])>(.*?)</h\1>", re.S)
_TAG = re.compile(r"</?(?:p|ul|ol|li|pre|br|h[1-6]|a|code|blockquote)\b[^>]*>")
_BLANKS = re.compile(r"\n\s*\n+")
_SPACES = re.compile(r"[ \t\u00a0]+")

_BOILER = re.compile(
    r"^(?:advert(?:isement)?s?|sponsored(?: links?)?|caption|close|print|email|share(?: (?:this|on|via)\b.*)?|"
    r"comments?|\d+ comments?|leave a (?:reply|comment)|loading ?\.*|menu|skip to (?:main )?content|"
    r"read more|continue reading(?: below)?|see more|view (?:all|results)|image \d+ of.*|photo: .*|"
    r"\(image: .*\)|.*\bcookies?\b.*|subscribe.*|sign up.*|follow us.*|.*all rights reserved.*|©.*|"
    r"filed under:?|tags?:.*|related (?:articles|stories|posts|content|coverage).*|you may also like.*|"
    r"don'?t miss|more from .*|recommended.*|top stories|most (?:popular|read).*|partner news|"
    r"breaking news|back to top|newsletters?)$",
    re.I,
)
_END = re.compile(
    r"^(?:related (?:articles|stories|posts)|you may also like.*|more from .*|read next|recommended(?: for you)?|"
    r"leave a (?:reply|comment)|comments|top stories|partner news|most (?:popular|read).*|popular categories)\W*$",
    re.I,
)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATELINE = re.compile(
    rf"^(?:(?:published|updated|posted|first published|last updated)(?: on| at)?:?\s*)?"
    rf"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+)?"
    rf"(?:\d{{1,2}}\s+{_MONTH}|{_MONTH}\s+\d{{1,2}},?|\d{{4}}[-/.]\d{{1,2}}[-/.]\d{{1,2}}|\d{{1,2}}[-/.]\d{{1,2}}[-/.]\d{{2,4}})"
    rf"(?:,?\s+\d{{4}})?(?:,?\s*(?:at\s+)?\d{{1,2}}[:.]\d{{2}}(?:\s*[ap]\.?m\.?)?(?:\s*[A-Z]{{2,4}})?)?\W*$",
    re.I,
)
_BYLINE = re.compile(r"^(?:by|von|por|par)\s+\S+(?:\s+\S+){0,5}$", re.I)
_JUNK = re.compile(
    r"(?:\[button|requires javascript|internet explorer|click here|sign up for|newsletter|get the .* app|"
    r"read more:|also on \w+\.\w+|share it with|terms of use|privacy policy|^updated at |^photo:|^\(image:|"
    r"\(image: [^)]*\)$|getty images$|^reporting by)",
    re.I,
)
_CSS_TOKEN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)+$")


def _is_caps(line: str) -> bool:
    """An ALL-CAPS line of 3+ words (teaser links: "CLICK HERE TO GET THE APP")."""
    return len(line) > 10 and line.isupper() and len(line.split()) >= 3


def _norm(s: str) -> str:
    return " ".join(s.lower().split())


def clean_lines(text: str, headline: str = "") -> str:
    """The line filter of the ``heron`` extractor (pure function over extracted text).

    ``headline`` (the page's ``<h1>`` or title) is dropped wherever it appears: the title is
    stored in its own field. Heading lines before the first paragraph (kicker, headline,
    standfirst) are dropped too.
    """
    lines = [_SPACES.sub(" ", ln).strip() for ln in text.split("\n")]
    total = sum(len(ln) for ln in lines) or 1
    head = _norm(headline.lstrip("# "))
    out: list[str] = []
    seen: set[str] = set()
    acc = 0
    for ln in lines:
        acc += len(ln)
        if not ln:
            continue
        body = ln.lstrip("#").strip() if ln.startswith("#") else ln
        if not body:
            continue
        if head and _norm(body) == head:  # the headline again: it is the title field
            continue
        if ln.startswith("#") and not any(not o.startswith("#") for o in out):
            continue  # headings before the first paragraph: kicker, headline, standfirst
        if _END.match(body) and acc > 0.5 * total:
            break
        if len(body) < 200 and _BOILER.match(body):
            continue
        if len(body) < 80 and _DATELINE.match(body):
            continue
        if _BYLINE.match(body) and not body.endswith("."):
            continue
        if len(body) < 300 and _JUNK.search(body):
            continue
        if _CSS_TOKEN.match(body) or _is_caps(body):
            continue
        if len(body) < 300 and body in seen:
            continue
        seen.add(body)
        out.append(ln)
    # a heading with nothing under it (the page's chrome ended in a heading) says nothing
    while out and out[-1].startswith("#"):
        out.pop()
    return "\n\n".join(out)


def minimal_html_to_text(s: str) -> str:
    """resiliparse ``minimal_html`` output → text, headings as ``#`` lines, blocks as paragraphs."""
    s = _HEADING_TAG.sub(lambda m: "\n\n" + "#" * int(m.group(1)) + " " + " ".join(m.group(2).split()) + "\n\n", s)
    s = s.replace("<br>", "\n")
    s = _TAG.sub("\n", s)
    return _html.unescape(s)


def extract_text(tree_or_html: Any, extractor: str = "heron", headline: str = "") -> str:
    """Main text of a page (a resiliparse ``HTMLTree``, or an HTML string for ``trafilatura``)."""
    if extractor == "heron":
        from resiliparse.extract.html2text import extract_plain_text

        raw = extract_plain_text(
            tree_or_html, preserve_formatting="minimal_html", main_content=True, alt_texts=False, links=False,
            list_bullets=False, comments=False, post_meta=False, skip_elements=_SKIP,
        )
        return clean_lines(minimal_html_to_text(raw), headline)
    if extractor == "resiliparse":
        from resiliparse.extract.html2text import extract_plain_text

        return str(extract_plain_text(tree_or_html, main_content=True))
    if extractor == "trafilatura":
        try:
            import trafilatura
        except ImportError:
            raise ConfigError("the trafilatura extractor needs trafilatura: pip install 'heron[ingest]'") from None

        html = tree_or_html if isinstance(tree_or_html, str) else str(tree_or_html)
        return str(trafilatura.extract(html, favor_precision=True, include_comments=False) or "")
    raise ConfigError(f"unknown extractor {extractor!r}; choose one of {', '.join(EXTRACTORS)}")
