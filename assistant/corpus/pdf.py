"""Read a PDF of the code into text laid out like the pypdf extraction the parser knows.

The parser relies on a few layout signals of the extracted text: every page's first line
starts with one space, a line holding only a space is a hard paragraph break, an empty
line is a soft one (a paragraph gap), and lettered sub-items are indented. pypdf's plain
`extract_text()` keeps the words but not the vertical gaps, so this module collects each
text fragment with its position through `extract_text(visitor_text=...)`, rebuilds the
lines and turns gaps clearly larger than the normal line spacing into empty lines.

Every problem (not a PDF, damaged, encrypted, no pages, no text layer) becomes a
`SourceError` naming the file; no pypdf exception escapes raw.
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pypdf import PageObject, PdfReader
from pypdf.errors import DependencyError
from pypdf.generic import ContentStream

from assistant.errors import SourceError

#: a line change is a paragraph gap when it is this much larger than the normal spacing
GAP_FACTOR = 1.4
#: default line spacing as a multiple of the font size, for sizes seen only once
DEFAULT_LEADING = 1.2
_PAGE_NUMBER = re.compile(r"^\s*(?:\d{1,3}|-\s*\d{1,3}\s*-|\d{1,3}\s*/\s*\d{1,3})\s*$")
#: operators that paint something other than text: images, paths, shadings
_PAINT_OPS = {b"Do", b"BI", b"EI", b"f", b"F", b"f*", b"S", b"s", b"B", b"B*", b"b", b"b*", b"sh"}
#: well-known file signatures, to say what a non-PDF file looks like
_SIGNATURES = (
    (b"PK\x03\x04", "a ZIP archive or Word/OpenDocument file"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office file"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"{\\rtf", "an RTF document"),
)


@dataclass
class _Line:
    """One rebuilt text line of a page: its text, baseline, left edge and font size."""

    text: str
    y: float
    x: float
    size: float


def read_pdf_text(path: Path, data: bytes) -> str:
    """Return the text of a PDF in the extracted-text layout the parser expects.

    Raises `SourceError(path, problem)` for a file that is not a PDF, is damaged or
    truncated, needs a password, has no pages or has no (decodable) text layer.
    """
    _check_header(path, data)
    with _quiet_pypdf():
        return _read(path, data)


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """Silence pypdf's warnings about recoverable damage while reading; real errors raise."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _read(path: Path, data: bytes) -> str:
    """Open, extract and lay out the text; every pypdf failure becomes a SourceError."""
    reader = _open(path, data)
    try:
        n_pages = len(reader.pages)
    except Exception as exc:  # pypdf raises many kinds on a damaged page tree
        raise SourceError(path, f"damaged PDF: cannot read its page tree ({_why(exc)})") from None
    if n_pages == 0:
        raise SourceError(path, "the PDF has no pages")

    pages: list[list[_Line]] = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            pages.append(_page_lines(page))
        except Exception as exc:
            raise SourceError(
                path, f"damaged PDF: cannot read the text of page {number} ({_why(exc)})"
            ) from None

    if not any(line.text.strip() for lines in pages for line in lines):
        raise SourceError(path, _no_text_problem(reader, n_pages))
    pages = [_drop_page_numbers(lines) for lines in pages]
    if not any(line.text.strip() for lines in pages for line in lines):
        raise SourceError(path, "the PDF holds no text besides page numbers")
    _check_decodable(path, pages)
    return _layout(pages)


# ---------------------------------------------------------------------------------------
# Opening and checking the file


def _check_header(path: Path, data: bytes) -> None:
    """Reject files that are not PDFs before pypdf guesses at them; spot truncated ones."""
    if not data:
        raise SourceError(path, "not a PDF file (it is empty: 0 bytes)")
    if b"%PDF-" not in data[:1024]:
        raise SourceError(path, f"not a PDF file (it starts with {_describe_start(data)})")
    if b"%%EOF" not in data:
        raise SourceError(
            path, "truncated or damaged PDF: it has no end-of-file marker (%%EOF); "
            "was the download or copy incomplete?"
        )


def _describe_start(data: bytes) -> str:
    """The first bytes of a file, quoted, plus what kind of file they suggest."""
    kind = next((what for sig, what in _SIGNATURES if data.startswith(sig)), "")
    text = data[:200].decode("utf-8", errors="ignore")
    if not kind and text.strip() and all(c.isprintable() or c.isspace() for c in text):
        words = " ".join(text.split())
        shown = words[:24] + ("…" if len(words) > 24 else "")
        return f"{shown!r}, which looks like plain text"
    return f"{data[:8]!r}" + (f", like {kind}" if kind else "")


def _open(path: Path, data: bytes) -> PdfReader:
    """Open the PDF with pypdf, decrypting it with the empty password when it is encrypted."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
    except DependencyError as exc:
        raise SourceError(path, f"encrypted PDF that needs an extra library to open ({exc})") from None
    except Exception as exc:
        raise SourceError(path, f"damaged or truncated PDF: pypdf cannot read it ({_why(exc)})") from None
    try:
        encrypted = reader.is_encrypted
    except Exception as exc:
        raise SourceError(path, f"damaged PDF: unreadable trailer ({_why(exc)})") from None
    if encrypted:
        # many PDFs are "encrypted" only to restrict printing or copying: no user password
        try:
            decrypted = reader.decrypt("")
        except DependencyError as exc:
            raise SourceError(
                path, f"encrypted PDF whose encryption needs an extra library to open ({exc})"
            ) from None
        except Exception as exc:
            raise SourceError(path, f"encrypted PDF that cannot be decrypted ({_why(exc)})") from None
        if not decrypted:
            raise SourceError(
                path, "encrypted PDF: it is password-protected; save an unprotected copy "
                "(or the text) and try again"
            )
    return reader


def _why(exc: Exception) -> str:
    """A short description of a pypdf exception for inclusion in a problem text."""
    message = " ".join(str(exc).split()) or "no details"
    message = message.encode("ascii", "backslashreplace").decode("ascii")
    if len(message) > 120:
        message = message[:120] + "…"
    return f"{type(exc).__name__}: {message}"


def _no_text_problem(reader: PdfReader, n_pages: int) -> str:
    """Explain a PDF without upright text: rotated text, scanned/image-only pages, or blank pages."""
    where = "its only page" if n_pages == 1 else f"any of its {n_pages} pages"
    try:
        rotated = any(page.extract_text().strip() for page in reader.pages)
    except Exception:
        rotated = False
    if rotated:
        return f"no upright text on {where}: its text is rotated; save the pages upright first"
    if any(_paints_something(page) for page in reader.pages):
        return f"image-only PDF: no text layer on {where} (a scan?); run OCR first"
    return f"empty PDF: no text and no images on {where}"


def _paints_something(page: PageObject) -> bool:
    """Whether a page draws images or graphics (as a scan does) rather than nothing at all."""
    try:
        resources = page.get("/Resources")
        xobjects = resources.get_object().get("/XObject") if resources is not None else None
        if xobjects is not None:
            xobjects = xobjects.get_object()
            if any(xobjects[name].get_object().get("/Subtype") == "/Image" for name in xobjects):
                return True
        contents = page.get_contents()
        if contents is None:
            return False
        stream = ContentStream(contents, page.pdf)
        return any(op in _PAINT_OPS for _, op in stream.operations)
    except Exception:
        return False  # unreadable content: call it blank rather than fail on the diagnosis


def _check_decodable(path: Path, pages: list[list[_Line]]) -> None:
    """Reject a text layer that is mostly undecodable glyphs (fonts without a Unicode map)."""
    chars = [c for lines in pages for line in lines for c in line.text if not c.isspace()]
    bad = sum(1 for c in chars if c == "\ufffd" or (ord(c) < 32) or 0xE000 <= ord(c) <= 0xF8FF)
    if chars and bad / len(chars) > 0.3:
        raise SourceError(
            path, "the PDF's text layer cannot be decoded (its fonts have no Unicode "
            "mapping); run OCR first"
        )


# ---------------------------------------------------------------------------------------
# Rebuilding lines from positioned fragments


def _mult(a: list[float], b: list[float]) -> list[float]:
    """Multiply two PDF transformation matrices [a b c d e f]."""
    return [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]


def _page_lines(page: PageObject) -> list[_Line]:
    """The page's text lines in content order, each with its baseline and font size.

    pypdf reports text in fragments that never span a line change, with the text matrix
    where the fragment starts; fragments whose baselines are within half a font size of
    the current line (superscript footnote markers, a bullet and its text) join that line.
    pypdf has already put a space between fragments with a horizontal gap.
    """
    fragments: list[tuple[str, float, float, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], _font: object, size: float) -> None:
        text = text.replace("\n", "")
        if not text:
            return
        m = _mult([float(v) for v in tm], [float(v) for v in cm])
        scale = (m[2] ** 2 + m[3] ** 2) ** 0.5 or 1.0
        fragments.append((text, m[4], m[5], float(size or 0) * scale))

    page.extract_text(visitor_text=visit, orientations=(0,))

    lines: list[_Line] = []
    for text, x, y, size in fragments:
        cur = lines[-1] if lines else None
        if cur is not None and abs(y - cur.y) < 0.5 * max(size, cur.size, 1.0):
            cur.text += text
            cur.x = min(cur.x, x)
            if text.strip():
                cur.size = max(cur.size, size)
        else:
            lines.append(_Line(text, y, x, size))
    return lines


def _drop_page_numbers(lines: list[_Line]) -> list[_Line]:
    """Drop a lone page number at the top or bottom of a page (header or footer)."""
    body = [line for line in lines if line.text.strip()]
    drop = {id(line) for line in body[:1] + body[-1:] if _PAGE_NUMBER.match(line.text)}
    return [line for line in lines if id(line) not in drop]


def _normal_spacing(pages: list[list[_Line]]) -> dict[float, float]:
    """The usual distance between consecutive baselines, per font size (rounded).

    The most common distance is the normal line spacing: paragraph gaps are rarer.
    """
    seen: dict[float, Counter[float]] = {}
    for lines in pages:
        for a, b in zip(lines, lines[1:], strict=False):
            dy = a.y - b.y
            if dy > 0 and round(a.size) == round(b.size):
                seen.setdefault(round(b.size), Counter())[round(dy, 1)] += 1
    normal: dict[float, float] = {}
    for size, counts in seen.items():
        top = max(counts.values())
        # on ties prefer the smallest distance: the gap is the exception
        normal[size] = min(d for d, c in counts.items() if c == top)
    return normal


def _layout(pages: list[list[_Line]]) -> str:
    """Join the pages' lines into the extracted-text layout the parser reads."""
    normal = _normal_spacing(pages)
    margin_counts = Counter(round(line.x) for lines in pages for line in lines if line.text.strip())
    margin = margin_counts.most_common(1)[0][0] if margin_counts else 0.0
    out: list[str] = []
    for lines in pages:
        for i, line in enumerate(lines):
            content = line.text.strip() or " "
            if i == 0:  # the extraction starts every page with one space
                out.append(" " if content == " " else " " + content)
                continue
            prev = lines[i - 1]
            dy = prev.y - line.y
            size = max(round(prev.size), round(line.size))
            spacing = normal.get(size) or DEFAULT_LEADING * max(line.size, prev.size, 1.0)
            if dy > GAP_FACTOR * spacing:
                out.append("")
            indented = content != " " and line.x > margin + 0.5 * max(line.size, 1.0)
            out.append(("\t" + content) if indented else content)
    return "\n".join(out) + "\n"
