"""bench/RESULTS.md is written in sections: each benchmark replaces its own, keeping the others."""

from __future__ import annotations

from pathlib import Path

HEADER = "# Benchmark results\n"


def sections(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The text before the first `## ` heading, and every (heading, body) after it, in order."""
    head, *parts = ("\n" + text).split("\n## ")
    found = []
    for part in parts:
        title, _, body = part.partition("\n")
        found.append((title.strip(), body))
    return head.lstrip("\n"), found


def write_sections(out: Path, new: list[tuple[str, str]], head: str | None = None) -> None:
    """Replace the sections of `out` titled as in `new` (appending those it lacks), in place.

    `new` holds (title, body) pairs, the body without its `## title` line; `head`, when given,
    replaces the text before the first section.
    """
    text = out.read_text(encoding="utf-8") if out.exists() else HEADER
    old_head, old = sections(text)
    replacing = dict(new)
    kept = [(t, replacing.pop(t) if t in replacing else b) for t, b in old]
    kept += [(t, b) for t, b in new if t in replacing]
    body = "".join(f"\n## {t}\n\n{b.strip(chr(10))}\n" for t, b in kept)
    out.write_text((head if head is not None else old_head).rstrip("\n") + "\n" + body, encoding="utf-8")


def write_section(lines: list[str], out: Path) -> None:
    """Replace (or append) the one section that `lines` hold, starting with its `## title` line."""
    assert lines and lines[0].startswith("## "), "a section starts with its ## title"
    write_sections(out, [(lines[0][3:].strip(), "\n".join(lines[1:]))])
