"""Read the code's source document (plain text, Markdown or PDF) into extracted text."""

from __future__ import annotations

from pathlib import Path

from assistant.errors import SourceError


def read_source(path: Path | str) -> str:
    """Return the text of a .txt, .md or .pdf source, in the layout the parser expects."""
    p = Path(path)
    if not p.is_file():
        raise SourceError(p, "file not found")
    data = p.read_bytes()
    if p.suffix.lower() == ".pdf" or data.startswith(b"%PDF"):
        from assistant.corpus.pdf import read_pdf_text

        return read_pdf_text(p, data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(p, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if not text.strip():
        raise SourceError(p, "the file is empty")
    if p.suffix.lower() in (".md", ".markdown"):
        return markdown_to_text(text)
    return text


def markdown_to_text(text: str) -> str:
    """Map Markdown structure onto the extracted-text layout: headings and bullets."""
    out = []
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("#"):
            line = " " + stripped.lstrip("#").strip()
        elif stripped[:2] in ("- ", "* "):
            line = "–\t" + stripped[2:]
        out.append(line)
    return "\n".join(out)
