"""Main-content extraction: HTML → clean text with headings kept as ``#`` lines.

Three extractors share one interface (:func:`extract_text`):

* ``heron`` (default): resiliparse's main-content extraction (a C DOM parser, lexbor) with
  comments, post metadata, ``aside``/``nav``/``footer``/``figcaption``/``figure`` and caption /
  related / newsletter / share elements skipped, as minimal HTML, read back into lines that know
  their block (``<p>``, list item, heading, or bare text in a ``<div>``) and their link text
  (:func:`html_lines`). Then a line filter (:func:`clean_lines`) drops what is left of page
  chrome: bare lines on pages whose text is mostly paragraphs, copies of the headline, leading
  headings, share / cookie / subscribe / advert lines, date-only and by-lines, CSS-token lines,
  repeated short lines outside paragraphs, ALL-CAPS teaser links and everything after a
  trailing "Related articles" / "Comments" marker. Headings come out as markdown-ish
  ``## Heading`` lines so snippets follow sections. The structural rules' settings
  (:class:`FilterParams`) were chosen by cross-validation on the article-extraction benchmark.
* ``resiliparse``: resiliparse's ``extract_plain_text(main_content=True)`` as shipped.
* ``trafilatura``: trafilatura's ``extract`` (precision mode): ~10x slower (lxml + Python
  heuristics + fallbacks).

``benchmarks/ingest_extraction.py`` measures all three on the shared ground truth.
"""

from __future__ import annotations

import html as _html
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from heron.errors import ConfigError

EXTRACTORS = ("heron", "resiliparse", "trafilatura")

_SKIP = ["figcaption", "aside", "nav", "footer"]
_HEADING_TAG = re.compile(r"<h([1-6])>(.*?)</h\1>", re.S)
_TAG = re.compile(r"</?(?:p|ul|ol|li|pre|br|h[1-6]|a|code|blockquote)\b[^>]*>")
_BLANKS = re.compile(r"\n\s*\n+")
_SPACES = re.compile(r"[ \t\u00a0]+")

_BOILER = re.compile(  # matched against the lower-cased line
    r"^(?:advert(?:isement)?s?|sponsored(?: links?)?|caption|close|print|email|share(?: (?:this|on|via)\b.*)?|"
    r"comments?|\d+ comments?|leave a (?:reply|comment)|loading ?\.*|menu|skip to (?:main )?content|"
    r"read more|continue reading(?: below)?|see more|view (?:all|results)|image \d+ of.*|photo: .*|"
    r"\(image: .*\)|.*\bcookies?\b.*|subscribe.*|sign up.*|follow us.*|.*all rights reserved.*|©.*|"
    r"filed under:?|tags?:.*|related (?:articles|stories|posts|content|coverage).*|you may also like.*|"
    r"don'?t miss|more from .*|recommended.*|top stories|most (?:popular|read).*|partner news|"
    r"breaking news|back to top|newsletters?)$",
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
#: junk anywhere in a short line (matched against the lower-cased line): literal phrases first
#: (plain substring tests), then the few patterns
_JUNK_PHRASES = ("[button", "requires javascript", "internet explorer", "click here", "sign up for", "newsletter",
                 "read more:", "share it with", "terms of use", "privacy policy")
_JUNK = re.compile(r"get the .* app|also on \w+\.\w+|\(image: [^)]*\)$|getty images$")
_JUNK_START = re.compile(r"updated at |photo:|\(image:|reporting by")


def _is_junk(low: str) -> bool:
    """A short line of page chrome (``low`` is the line lower-cased)."""
    return any(w in low for w in _JUNK_PHRASES) or bool(_JUNK_START.match(low) or _JUNK.search(low))


_CSS_TOKEN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)+$")


def _is_caps(line: str) -> bool:
    """An ALL-CAPS line of 3+ words (teaser links: "CLICK HERE TO GET THE APP").

    ``str.isupper`` ignores uncased letters, so a Korean or Chinese sentence that mentions "MBC"
    is "upper case" to it: most letters must be cased ones."""
    if len(line) <= 10 or not line.isupper() or len(line.split()) < 3:
        return False
    letters = [c for c in line if c.isalpha()]
    return sum(c != c.lower() for c in letters) >= 0.9 * len(letters)


def _squeeze(s: str) -> str:
    """Runs of spaces, tabs and no-break spaces → one space; stripped."""
    if "\t" in s or "\xa0" in s or "  " in s:
        s = _SPACES.sub(" ", s)
    return s.strip()


def _norm(s: str) -> str:
    return " ".join(s.lower().split())


class Line(NamedTuple):
    """One line of extracted text: its text (headings as ``#`` lines), the block it sits in
    (``p``, ``h``, ``li``, ``pre``, ``blockquote``, ``table`` (a row of cells) or ``bare`` = text outside
    any block element, e.g. in a ``<div>``), and how many of its characters are link text."""

    text: str
    kind: str = "bare"
    link_chars: int = 0


@dataclass(frozen=True, slots=True)
class FilterParams:
    """The structural rules of the ``heron`` extractor, on top of the lexical line filter.

    The defaults were chosen by 5-fold cross-validation on the article-extraction benchmark
    (``benchmarks/ingest_extraction.py --cv``: held-out F1 is reported next to the full-set F1 in
    ``benchmarks/reports/``). ``FilterParams(max_link_share=1.0, bare_p_share=1.0, extra_skip=(),
    repeats_outside_blocks_only=False)`` switches them all off.
    """

    #: drop a line when more than this share of its characters is link text (1.0 = off)
    max_link_share: float = 1.0
    #: on pages where at least this share of the text sits in ``<p>`` elements, drop ``bare``
    #: lines (text directly in a ``<div>`` or ``<span>``: captions, widgets, menus, bylines)
    #: shorter than ``bare_max_chars`` (1.0 = off)
    bare_p_share: float = 0.5
    bare_max_chars: int = 1_000_000
    #: CSS selectors skipped during extraction on top of ``figcaption, aside, nav, footer``
    extra_skip: tuple[str, ...] = ("figure", "[class*=caption]", "[class*=related]", "[class*=newsletter]",
                                   "[class*=share]")
    #: drop repeats of a short line only outside paragraphs, list items and headings (a recipe or
    #: a schedule repeats real lines; page chrome repeats captions and buttons); False = everywhere
    repeats_outside_blocks_only: bool = True


DEFAULT_PARAMS = FilterParams()

_BLOCK_TOKEN = re.compile(r"<(/?)(p|h[1-6]|ul|ol|li|pre|br|a|code|blockquote)\b[^>]*>|\n")
_BLOCK_KIND = {"p": "p", "li": "li", "pre": "pre", "blockquote": "blockquote"}


def html_lines(s: str) -> list[Line]:
    """resiliparse ``minimal_html`` output (with ``links=True``) → lines with their block kind
    and link characters; headings become ``#`` lines, entities are unescaped."""
    out: list[Line] = []
    stack: list[str] = []
    buf: list[str] = []
    link_chars = 0
    in_link = False
    heading = 0

    def flush() -> None:
        nonlocal link_chars, in_link
        text = _html.unescape("".join(buf)) if buf else ""
        buf.clear()
        if text.strip():
            kind = stack[-1] if stack else "table" if "\t" in text else "bare"  # cells come tab-separated
            if heading:
                text = "#" * heading + " " + " ".join(text.split())
            out.append(Line(text, "h" if heading else kind, min(link_chars, len(text))))
        link_chars = 0
        in_link = False  # resiliparse leaves text-less links unclosed: a link never spans lines

    pos = 0
    for m in _BLOCK_TOKEN.finditer(s):
        chunk = s[pos : m.start()]
        pos = m.end()
        if chunk:
            buf.append(chunk)
            if in_link:
                link_chars += len(chunk)
        tag = m.group(2)
        if tag is None or tag == "br":  # a line break
            flush()
        elif tag == "a":
            in_link = not m.group(1)
        elif tag in ("code",):
            continue
        elif tag[0] == "h":
            flush()
            heading = 0 if m.group(1) else int(tag[1])
        else:
            flush()
            kind = _BLOCK_KIND.get(tag)
            if kind is not None:
                if m.group(1):
                    if kind in stack:
                        del stack[len(stack) - 1 - stack[::-1].index(kind)]
                else:
                    stack.append(kind)
    buf.append(s[pos:])
    flush()
    return out


def clean_lines(text: str | list[Line], headline: str = "", params: FilterParams = DEFAULT_PARAMS) -> str:
    """The line filter of the ``heron`` extractor (pure function over extracted lines).

    ``text`` is plain text (every line ``bare``, no link information) or :func:`html_lines`
    output. ``headline`` (the page's ``<h1>`` or title) is dropped wherever it appears: the title
    is stored in its own field. Heading lines before the first paragraph (kicker, headline,
    standfirst) are dropped too. ``params`` switches the structural rules on.
    """
    if isinstance(text, str):
        src = [Line(_squeeze(ln)) for ln in text.split("\n")]
    else:
        src = []
        for given in text:
            t = _squeeze(given.text)
            src.append(Line(t, given.kind, min(given.link_chars, len(t))))
    total = sum(len(ln.text) for ln in src) or 1
    drop_bare = False
    if params.bare_p_share < 1.0:
        drop_bare = sum(len(ln.text) for ln in src if ln.kind == "p") >= params.bare_p_share * total
    head = _norm(headline.lstrip("# "))
    out: list[str] = []
    seen: set[str] = set()
    acc = 0
    for line in src:
        ln = line.text
        acc += len(ln)
        if not ln:
            continue
        if line.link_chars and line.link_chars > params.max_link_share * len(ln):
            continue
        if drop_bare and line.kind == "bare" and len(ln) < params.bare_max_chars:
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
        low = body.lower()
        if len(body) < 200 and _BOILER.match(low):
            continue
        if len(body) < 80 and _DATELINE.match(body):
            continue
        if _BYLINE.match(body) and not body.endswith("."):
            continue
        if len(body) < 300 and _is_junk(low):
            continue
        if _CSS_TOKEN.match(body) or _is_caps(body):
            continue
        if len(body) < 300 and body in seen and not (
            params.repeats_outside_blocks_only and line.kind in ("p", "li", "h")
        ):
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


def raw_main_content(tree: Any, params: FilterParams = DEFAULT_PARAMS) -> str:
    """resiliparse's main-content extraction as minimal HTML (links marked), before heron's filter."""
    from resiliparse.extract.html2text import extract_plain_text

    return str(extract_plain_text(
        tree, preserve_formatting="minimal_html", main_content=True, alt_texts=False, links=True,
        list_bullets=True, comments=False, post_meta=False, skip_elements=_SKIP + list(params.extra_skip),
    ))


def extract_text(tree_or_html: Any, extractor: str = "heron", headline: str = "") -> str:
    """Main text of a page (a resiliparse ``HTMLTree``, or an HTML string for ``trafilatura``)."""
    if extractor == "heron":
        return clean_lines(html_lines(raw_main_content(tree_or_html)), headline)
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
