"""The report's page: sections of figures, tables and verdicts, laid out as one
self-contained HTML file (figures embedded as base64 PNG, the style inline: it opens without
a network), and its atomic write."""

from __future__ import annotations

import base64
import contextlib
import html
import os
import pathlib
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Page", "Section", "image", "items", "paragraph", "render", "table", "write_text"]

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #222; background: #fff; }
h1 { font-size: 1.6em; border-bottom: 2px solid #1f77b4; padding-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 1.8em; color: #1f4e79; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.7em; text-align: left; vertical-align: top; }
th { background: #eef3f8; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 0.8em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #555; }
.verdict { font-weight: 600; }
.note { color: #666; font-size: 0.92em; }
"""


@dataclass
class Section:
    """One part of the page: ``blocks`` are pieces of HTML made by :func:`image`,
    :func:`table`, :func:`paragraph` and :func:`items`."""

    key: str
    title: str
    blocks: list[str] = field(default_factory=list)


@dataclass
class Page:
    """A report before it is laid out: its sections in order, and the plots that could not
    be made, each with the reason (``(plot, reason)`` pairs)."""

    title: str
    sections: list[Section] = field(default_factory=list)
    not_shown: list[tuple[str, str]] = field(default_factory=list)

    def section(self, key: str, title: str) -> Section:
        section = Section(key, title)
        self.sections.append(section)
        return section

    def skip(self, plot: str, reason: str) -> None:
        self.not_shown.append((plot, reason))


def image(png: bytes, alt: str, caption: str | None = None) -> str:
    """A figure embedded in the page as a base64 PNG."""
    data = base64.b64encode(png).decode("ascii")
    text = f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'
    if caption:
        text += f"<figcaption>{html.escape(caption)}</figcaption>"
    return text + "</figure>"


def _cell(value: object, tag: str) -> str:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    css = ' class="number"' if number and tag == "td" else ""
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    return f"<{tag}{css}>{html.escape(text)}</{tag}>"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A table with a header row; floats shown to six significant digits."""
    head = "".join(_cell(name, "th") for name in header)
    body = "".join("<tr>" + "".join(_cell(v, "td") for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def paragraph(text: str, css: str | None = None) -> str:
    attribute = f' class="{css}"' if css else ""
    return f"<p{attribute}>{html.escape(text)}</p>"


def items(texts: Sequence[str]) -> str:
    """A bulleted list."""
    return "<ul>" + "".join(f"<li>{html.escape(t)}</li>" for t in texts) + "</ul>"


def render(page: Page) -> str:
    """The page as one HTML document."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(page.title)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(page.title)}</h1>",
    ]
    for section in page.sections:
        parts.append(f'<section id="{section.key}"><h2>{html.escape(section.title)}</h2>')
        parts.extend(section.blocks)
        parts.append("</section>")
    parts.append('<section id="not-shown"><h2>Plots not shown</h2>')
    if page.not_shown:
        parts.append(table(("plot", "why not"), page.not_shown))
    else:
        parts.append(paragraph("Every plot that applies to this model is shown.", "note"))
    parts.append("</section></body></html>")
    return "\n".join(parts) + "\n"


def write_text(text: str, path: str | os.PathLike[str]) -> pathlib.Path:
    """Write ``text`` (UTF-8) to ``path`` atomically: through a temporary file in the same
    folder, renamed over ``path`` once complete, so a reader sees the old file or the new
    one, never a part. Returns the resolved path.

    Raises
    ------
    OSError
        When the folder does not exist or cannot be written; the message names ``path``.
    """
    target = pathlib.Path(path).resolve()
    label = repr(os.fspath(path))
    if target.is_dir():
        raise IsADirectoryError(f"cannot write the report {label}: it is a directory")
    if not target.parent.is_dir():
        raise FileNotFoundError(
            f"cannot write the report {label}: the folder {str(target.parent)!r} does not exist"
        )
    try:
        handle = tempfile.NamedTemporaryFile(
            "wb", delete=False, dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write the report {label}: {exc.strerror}") from exc
    try:
        with handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        # NamedTemporaryFile makes the file private; a report gets a new file's usual mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(handle.name, 0o666 & ~umask)
        os.replace(handle.name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(handle.name)
        raise
    return target
