"""PDF ingestion: a real multi-page PDF of the code parses to the same provisions as its text.

The official PDF is not in the repository, so `pdf_fixture` lays the extracted text out as
an A4 PDF (footnotes at page bottoms, superscript markers, page numbers) and these tests
read it back through `read_source`. Broken inputs must give a `SourceError` that names the
file and the problem, never a raw pypdf exception.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from pdf_fixture import (
    CORPUS,
    NOTE_SIZE,
    PAGE_H,
    PAGE_W,
    build_blank_pdf,
    build_code_pdf,
    build_encrypted_pdf,
    build_image_only_pdf,
    build_no_pages_pdf,
    build_not_a_pdf,
    build_page_numbers_only_pdf,
    build_rotated_pdf,
    build_truncated_pdf,
    split_pages,
)
from pypdf import PdfReader

from assistant.corpus.parse import parse
from assistant.corpus.source import SourceError, read_source
from assistant.domain import Provision


@pytest.fixture(scope="module")
def pdf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pdf")


@pytest.fixture(scope="module")
def code_pdf(pdf_dir: Path) -> Path:
    """The code laid out as a PDF, built once for the module."""
    return build_code_pdf(pdf_dir / "stagecode-hbo-2025.pdf")


@pytest.fixture(scope="module")
def text_provisions() -> list[Provision]:
    return parse(read_source(CORPUS))


def _assert_same_provisions(got: list[Provision], want: list[Provision]) -> None:
    """Compare provision lists with a readable first difference before the full equality."""
    assert [p.id for p in got] == [p.id for p in want]
    for g, w in zip(got, want, strict=True):
        assert g == w, f"{w.id} differs"
    assert got == want


# ---------------------------------------------------------------------------------------
# The code as a PDF


def test_pdf_parses_to_the_same_provisions_as_the_text(
    code_pdf: Path, text_provisions: list[Provision]
) -> None:
    got = parse(read_source(code_pdf))
    assert len(text_provisions) == 62
    _assert_same_provisions(got, text_provisions)
    # spot checks on what depends on the page layout: footnotes and a block cut by a page
    by_id = {p.id: p for p in got}
    assert by_id["fn.4"].footnote_of == "3B.vd.2a"
    assert by_id["fn.4"].text.endswith("per student besproken.")
    assert by_id["4.aanv.2"].text.endswith("(sociaal) veilige behandeling van alle studenten.")
    assert "stagecode is ontwikkeld" in by_id["pre.doel"].text  # superscript marker removed


def _norm_lines(text: str) -> list[str]:
    """Lines with white space collapsed, keeping what the parser can see: gaps (""),
    lines of only white space (" ") and whether a line starts with white space."""
    out: list[str] = []
    for line in text.replace("\ufffd", "").splitlines():
        if line == "":
            if out and out[-1] != "":
                out.append("")
            continue
        if not line.strip():
            out.append(" ")
            continue
        lead = " " if line[0].isspace() else ""
        out.append(lead + " ".join(line.split()))
    while out and out[0] == "":
        out.pop(0)
    while out and out[-1] == "":
        out.pop()
    return out


def test_pdf_text_has_the_extraction_layout(code_pdf: Path) -> None:
    """Line for line the same as the pypdf extraction of the official PDF, up to spacing:
    the same paragraph gaps, one-space page starts and indented lettered items."""
    text = read_source(code_pdf)
    assert _norm_lines(text) == _norm_lines(CORPUS.read_text(encoding="utf-8"))
    assert next(line for line in text.splitlines() if "(warme) overdracht" in line).startswith("\t")
    assert not any(re.fullmatch(r"\s*\d{1,3}\s*", line) for line in text.splitlines())


def _fragments(page: object) -> list[tuple[str, float, float, float]]:
    """(text, x, y from the bottom, font size) of each text fragment on a pypdf page."""
    out: list[tuple[str, float, float, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], _font: object, size: float) -> None:
        if text.strip():
            out.append((text.strip(), float(tm[4]), float(tm[5]), float(size)))

    page.extract_text(visitor_text=visit)  # type: ignore[attr-defined]
    return out


def test_pdf_has_several_pages_with_footnotes_at_their_bottoms(code_pdf: Path) -> None:
    pages = split_pages(CORPUS.read_text(encoding="utf-8"))
    reader = PdfReader(code_pdf)
    assert len(reader.pages) == len(pages) >= 5
    assert [n for page in pages for n in page.note_numbers] == [1, 2, 3, 4, 5]
    for number, (page, layout) in enumerate(zip(reader.pages, pages, strict=True), start=1):
        assert abs(float(page.mediabox.width) - PAGE_W) < 1 and abs(float(page.mediabox.height) - PAGE_H) < 1
        frags = _fragments(page)
        # the page number is the lowest text, centred
        label = min(frags, key=lambda f: f[2])
        assert label[0] == str(number)
        assert abs(label[1] - PAGE_W / 2) < 20 and label[2] < 0.06 * PAGE_H
        body = [f for f in frags if f[3] > NOTE_SIZE + 1]
        notes = [f for f in frags if abs(f[3] - NOTE_SIZE) < 0.01]
        starts = [int(f[0]) for f in notes if re.fullmatch(r"\d", f[0])]
        assert starts == layout.note_numbers, f"page {number}"
        if notes:
            # all footnote text sits below all body text, in the page's bottom fifth
            assert max(f[2] for f in notes) < min(f[2] for f in body)
            assert max(f[2] for f in notes) < 0.2 * PAGE_H
    # superscript markers are separate, raised fragments in the body of page 1
    first = _fragments(reader.pages[0])
    base = next(f for f in first if f[0].startswith("Deze landelijke stagecode"))
    marker = next(f for f in first if f[0] == "1" and f[3] < NOTE_SIZE)
    assert 2 < marker[2] - base[2] < 5


def test_pdf_is_recognised_without_the_pdf_suffix(code_pdf: Path, pdf_dir: Path,
                                                  text_provisions: list[Provision]) -> None:
    renamed = pdf_dir / "stagecode.bin"
    renamed.write_bytes(code_pdf.read_bytes())
    _assert_same_provisions(parse(read_source(renamed)), text_provisions)


def test_encrypted_pdf_without_user_password_is_read(
    pdf_dir: Path, text_provisions: list[Provision]
) -> None:
    """Many PDFs are encrypted only to carry permissions: the empty password opens them."""
    path = build_code_pdf(pdf_dir / "permissions-only.pdf", user_password="")
    assert PdfReader(path).is_encrypted
    _assert_same_provisions(parse(read_source(path)), text_provisions)


# ---------------------------------------------------------------------------------------
# Files that cannot be read


def _png_bytes() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buf, format="PNG")
    return buf.getvalue()


BAD_FILES = {
    "password": (lambda d, src: build_encrypted_pdf(d / "password.pdf"), ["encrypted", "password"]),
    "blank": (lambda d, src: build_blank_pdf(d / "blank.pdf"), ["empty PDF", "no text"]),
    "scan": (lambda d, src: build_image_only_pdf(d / "scan.pdf"), ["image-only", "no text layer", "OCR"]),
    "drawing": (
        lambda d, src: build_image_only_pdf(d / "drawing.pdf", kind="drawing"),
        ["image-only", "no text layer", "OCR"],
    ),
    "no-pages": (lambda d, src: build_no_pages_pdf(d / "no-pages.pdf"), ["no pages"]),
    "rotated": (lambda d, src: build_rotated_pdf(d / "rotated.pdf"), ["no upright text", "rotated"]),
    "page-numbers-only": (
        lambda d, src: build_page_numbers_only_pdf(d / "numbers.pdf"),
        ["no text besides page numbers"],
    ),
    "truncated": (lambda d, src: build_truncated_pdf(d / "truncated.pdf", src), ["truncated", "%%EOF"]),
    "damaged": (
        lambda d, src: build_not_a_pdf(d / "damaged.pdf", src.read_bytes()[:5000] + b"\n%%EOF\n"),
        ["damaged", "pypdf cannot read it"],
    ),
    "text-renamed": (lambda d, src: build_not_a_pdf(d / "text.pdf"), ["not a PDF file", "plain text", "NRTO"]),
    "png-renamed": (lambda d, src: build_not_a_pdf(d / "image.pdf", _png_bytes()), ["not a PDF file", "PNG"]),
    "zero-bytes": (lambda d, src: build_not_a_pdf(d / "zero.pdf", b""), ["not a PDF file", "empty", "0 bytes"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_gives_a_clear_source_error(case: str, pdf_dir: Path, code_pdf: Path) -> None:
    build, words = BAD_FILES[case]
    path = build(pdf_dir, code_pdf)
    with pytest.raises(SourceError) as info:
        read_source(path)
    err = info.value
    assert err.path == str(path)
    assert str(err).startswith(f"{path}: ")
    for word in words:
        assert word in err.problem, f"{word!r} not in {err.problem!r}"


def test_corrupted_pdfs_never_leak_pypdf_exceptions(pdf_dir: Path, code_pdf: Path) -> None:
    """Random byte damage either still reads or gives a SourceError, never a raw exception."""
    data = code_pdf.read_bytes()
    rng = random.Random(20251117)
    for i in range(12):
        damaged = bytearray(data)
        for _ in range(40):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        path = pdf_dir / f"corrupt-{i}.pdf"
        path.write_bytes(bytes(damaged))
        try:
            read_source(path)
        except SourceError as err:
            assert err.path == str(path) and err.problem
