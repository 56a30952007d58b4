"""Build real PDFs for the PDF-ingestion tests: the code itself, and broken files.

The official PDF of the Stagecode hbo is not in the repository, so `build_code_pdf` lays
the extracted text (corpus/stagecode-hbo-2025.txt) out again as a multi-page A4 PDF with
fpdf2: the body line by line in its own pages, each page's footnotes at the bottom in a
smaller font under a short rule, superscript footnote markers, and a centred page number.
Reading that PDF back must give the same provisions as the text. The other builders make
the files the reader must refuse with a clear message: password-protected, blank,
image-only (a scan without OCR), rotated text, page numbers only, truncated, no pages, and
a non-PDF renamed to .pdf.

Only fpdf2, Pillow, pypdf and the DejaVu Sans font that ships inside matplotlib are used:
no downloads, no system fonts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
from fpdf import FPDF

ROOT = Path(__file__).resolve().parents[1]

CORPUS = ROOT / "corpus" / "stagecode-hbo-2025.txt"
FONT = Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"

# A4 in points, and the layout (baselines are measured from the top, as fpdf2 does)
PAGE_W, PAGE_H = 595.28, 841.89
LEFT = 56.0
TAB = 18.0  # tab stop distance: bullets and numbers sit left of their text
TOP_BASELINE = 64.0
BODY_SIZE, BODY_LEADING, BODY_GAP = 10.0, 13.0, 8.0
NOTE_SIZE, NOTE_LEADING, NOTE_GAP = 7.5, 9.0, 6.0
MARK_SIZE, MARK_RISE = 6.5, 3.5  # superscript footnote markers
NOTES_BOTTOM = PAGE_H - 56.0  # baseline of a page's last footnote line
PAGE_NO_BASELINE = PAGE_H - 30.0

_PAGE_START = re.compile(r"^ \S")  # the extraction starts each new page with one space
_NOTE_START = re.compile(r"^(\d)\t")
_MARKER = re.compile(r"(?<=[A-Za-zÀ-ÿ’'])([1-9])(?=[\s.,;:)]|$)")


@dataclass
class Page:
    """One page of the extracted text: body lines, then the footnote lines at its bottom."""

    body: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    note_numbers: list[int] = field(default_factory=list)


def split_pages(text: str) -> list[Page]:
    """Split the extracted text into pages and each page into body and footnotes.

    A page starts at a line with exactly one leading space before a non-space (the
    extraction's page artifact). Footnotes are numbered through the document, so a page's
    footnote block starts at the first line "N<tab>…" where N is the next footnote number
    and runs to the page's end; "2<tab>Algemene afspraken" on a later page is a heading.
    """
    chunks: list[list[str]] = [[]]
    for i, line in enumerate(text.splitlines()):
        if i and _PAGE_START.match(line):
            chunks.append([])
        chunks[-1].append(line)
    pages: list[Page] = []
    next_note = 1
    for lines in chunks:
        start = next(
            (i for i, line in enumerate(lines)
             if (m := _NOTE_START.match(line)) and int(m.group(1)) == next_note),
            len(lines),
        )
        page = Page(body=lines[:start], notes=lines[start:])
        for line in page.notes:
            m = _NOTE_START.match(line)
            if m and int(m.group(1)) == next_note:
                page.note_numbers.append(next_note)
                next_note += 1
        pages.append(page)
    return pages


def _segments(line: str) -> tuple[bool, list[str]]:
    """A text line as (indented?, tab-separated segments), without the pypdf artifacts.

    The leading single space of a page's first line is the extraction's page marker, not
    layout; a leading tab means an indented (lettered) item. The "\\ufffd" left where the
    original bullet glyph was cannot be drawn, so it is dropped.
    """
    indented = line[:1] == "\t" or line.startswith(" \t")
    parts = [p.replace("\ufffd", "").strip() for p in line.strip(" \t").split("\t")]
    return indented, [p for p in parts if p]


class CodePdf(FPDF):
    """An fpdf2 document with the font set up and helpers to place runs of text."""

    def __init__(self) -> None:
        super().__init__(orientation="P", unit="pt", format="A4")
        self.set_auto_page_break(False)  # otherwise fpdf2 pushes the page number to a new page
        self.set_margins(LEFT, 40.0, LEFT)
        self.add_font("DejaVu", fname=str(FONT))
        self.set_font("DejaVu", size=BODY_SIZE)
        self.set_creator("tests/pdf_fixture.py")

    def runs(self, x: float, y: float, text: str, size: float, markers: set[int]) -> float:
        """Write text at (x, baseline y) with footnote markers as superscripts; return end x."""
        pos = 0
        for m in _MARKER.finditer(text):
            if int(m.group(1)) not in markers:
                continue
            x = self._run(x, y, text[pos:m.start()], size)
            x = self._run(x, y - MARK_RISE, m.group(1), MARK_SIZE)
            pos = m.end()
        return self._run(x, y, text[pos:], size)

    def _run(self, x: float, y: float, text: str, size: float) -> float:
        if not text:
            return x
        self.set_font_size(size)
        self.text(x, y, text)
        return x + self.get_string_width(text)

    def line_of_text(self, y: float, line: str, size: float, markers: set[int]) -> None:
        """Write one extracted-text line at baseline y, putting segments on tab stops."""
        if not line.strip():
            self.set_font_size(size)
            self.text(LEFT, y, " ")  # a line of only a space separates paragraphs
            return
        indented, parts = _segments(line)
        x = LEFT + (TAB if indented else 0.0)
        for i, part in enumerate(parts):
            if i:
                x = LEFT + TAB * (int((x + 4.0 - LEFT) // TAB) + 1)  # the next tab stop
            x = self.runs(x, y, part, size, markers)


def _block_height(lines: list[str], leading: float, gap: float) -> float:
    """Height from the first to the last baseline of a block with paragraph gaps."""
    height, first = 0.0, True
    for line in lines:
        if line == "":
            height += gap
        elif first:
            first = False
        else:
            height += leading
    return height


def build_code_pdf(dest: Path, text: str | None = None, user_password: str | None = None) -> Path:
    """Lay the extracted text of the code out as a multi-page A4 PDF at `dest`.

    With `user_password` the PDF is encrypted; `""` gives the common case of a PDF that is
    encrypted only to carry permissions and opens without a password.
    """
    pages = split_pages(text if text is not None else CORPUS.read_text(encoding="utf-8"))
    markers = {n for page in pages for n in page.note_numbers}
    pdf = CodePdf()
    for number, page in enumerate(pages, start=1):
        pdf.add_page()
        y = TOP_BASELINE - BODY_LEADING
        for line in page.body:
            if line == "":
                y += BODY_GAP
                continue
            y += BODY_LEADING
            pdf.line_of_text(y, line, BODY_SIZE, markers)
        body_end = y
        notes = page.notes
        while notes and notes[-1] == "":
            notes = notes[:-1]
        if notes:
            y = NOTES_BOTTOM - _block_height(notes, NOTE_LEADING, NOTE_GAP) - NOTE_LEADING
            if y < body_end + BODY_LEADING:
                raise ValueError(f"page {number}: the footnotes overlap the body text")
            pdf.set_line_width(0.5)
            pdf.line(LEFT, y + 2.0, LEFT + 144.0, y + 2.0)  # the rule above the footnotes
            for line in notes:
                if line == "":
                    y += NOTE_GAP
                    continue
                y += NOTE_LEADING
                pdf.line_of_text(y, line, NOTE_SIZE, set())
        elif body_end > NOTES_BOTTOM:
            raise ValueError(f"page {number}: the body text runs off the page")
        pdf.set_font_size(NOTE_SIZE + 1)
        label = str(number)
        pdf.text((PAGE_W - pdf.get_string_width(label)) / 2, PAGE_NO_BASELINE, label)
    if user_password is not None:
        pdf.set_encryption(owner_password="eigenaar", user_password=user_password)
    dest.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(dest))
    return dest


# ---------------------------------------------------------------------------------------
# Files the reader must refuse (or, for the empty password, read)


def build_encrypted_pdf(dest: Path, user_password: str = "geheim") -> Path:
    """A password-protected one-page PDF (RC4, which pypdf decrypts without extra libraries).

    For an "encrypted" PDF that opens without a password use
    `build_code_pdf(dest, user_password="")`.
    """
    pdf = CodePdf()
    pdf.add_page()
    pdf.text(LEFT, TOP_BASELINE, "Stagecode hbo")
    pdf.set_encryption(owner_password="eigenaar", user_password=user_password)
    pdf.output(str(dest))
    return dest


def build_blank_pdf(dest: Path, pages: int = 2) -> Path:
    """A PDF whose pages are blank: no text, no images."""
    pdf = CodePdf()
    for _ in range(pages):
        pdf.add_page()
    pdf.output(str(dest))
    return dest


def build_image_only_pdf(dest: Path, kind: str = "image") -> Path:
    """A PDF without a text layer, like an un-OCR'd scan.

    `kind="image"` embeds a Pillow-rendered picture of some text; `kind="drawing"` only
    draws a filled rectangle.
    """
    pdf = CodePdf()
    pdf.add_page()
    if kind == "image":
        from PIL import Image, ImageDraw

        scan = Image.new("L", (600, 200), color=255)
        ImageDraw.Draw(scan).text((20, 80), "Stagecode hbo - 1 Definities", fill=0)
        pdf.image(scan, x=LEFT, y=80.0, w=400.0)
    elif kind == "drawing":
        pdf.set_fill_color(40, 40, 40)
        pdf.rect(LEFT, 80.0, 300.0, 120.0, style="F")
    else:
        raise ValueError(f"unknown kind {kind!r}")
    pdf.output(str(dest))
    return dest


def build_rotated_pdf(dest: Path) -> Path:
    """A PDF whose only text runs sideways (rotated 90 degrees), which the reader cannot lay out."""
    pdf = CodePdf()
    pdf.add_page()
    with pdf.rotation(90, LEFT + 40.0, 400.0):
        pdf.text(LEFT + 40.0, 400.0, "Stagecode hbo")
    pdf.output(str(dest))
    return dest


def build_page_numbers_only_pdf(dest: Path, pages: int = 2) -> Path:
    """A PDF whose pages hold nothing but a centred page number."""
    pdf = CodePdf()
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.text((PAGE_W - pdf.get_string_width(str(number))) / 2, PAGE_NO_BASELINE, str(number))
    pdf.output(str(dest))
    return dest


def build_no_pages_pdf(dest: Path) -> Path:
    """A syntactically valid PDF with an empty page tree (fpdf2 refuses to write one)."""
    from pypdf import PdfWriter

    with dest.open("wb") as fh:
        PdfWriter().write(fh)
    return dest


def build_truncated_pdf(dest: Path, source: Path) -> Path:
    """The first half of a real PDF's bytes, like an interrupted download."""
    data = source.read_bytes()
    dest.write_bytes(data[: len(data) // 2])
    return dest


def build_not_a_pdf(dest: Path, data: bytes | None = None) -> Path:
    """A non-PDF file renamed to .pdf (by default the plain text of the code)."""
    dest.write_bytes(data if data is not None else CORPUS.read_bytes())
    return dest
