"""Copies of the lessons for a workshop: the learner's handout and the rendered site's sources.

The lessons in ``notebooks/`` are the facilitator's copy: executed, with reveals and
solutions collapsed but present (the answer key). Two derived copies are made from them,
never by editing the lessons:

- :func:`student_copy` (``make student``) writes the handout a host gives learners (the
  lessons in ``notebooks/``, with the data files they read beside it): each
  solution cell (tag ``solution``) becomes an empty cell to write in, each reveal's text
  (a markdown cell collapsed with ``source_hidden``, tag ``hide-input``, or starting
  with "**Reveal") is replaced by a
  pointer to the cell that produces the answer, and that cell's outputs (tag
  ``hide-output``) are cleared, so the answer appears only when the learner runs it. The
  rest keeps its outputs, so the handout reads as the lesson does.
- :func:`site_copy` (``make site``) prepares the notebooks for Sphinx and MyST-NB. MyST-NB
  collapses code cells tagged ``hide-input``/``hide-output`` but ignores tags on markdown
  cells, so a reveal's text is wrapped in an HTML ``<details>`` block here; links to a
  heading (``00-start-here.ipynb#Glossary``, JupyterLab's anchor) get MyST's slug
  (``#glossary``); the widget
  state JupyterLab saved in the notebook's metadata is dropped (a static page has no kernel
  to drive the widgets, and the state carries every figure again as base64), since each
  lesson stores its panel's default view as a figure after the panel.

Both use nbconvert's preprocessors and nbformat (no hand-written JSON).

Usage: ``python -m simlib.lessons.handout student|site SRC_DIR DEST_DIR``
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

STUDENT_SOLUTION = "# Your solution\n"
STUDENT_REVEAL = ("**Reveal:** run the code cell above to see what happened, then compare it "
                  "with your prediction (your host has the explanation).")


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _is_reveal_text(cell) -> bool:
    """A reveal's (or other collapsed) explanation: a markdown cell hidden when the lesson
    opens, or one that starts with "**Reveal" (the lessons' convention) even if a lesson
    forgot to collapse it."""
    if cell.cell_type != "markdown":
        return False
    hidden = bool(cell.get("metadata", {}).get("jupyter", {}).get("source_hidden"))
    return hidden or cell.source.lstrip().startswith("**Reveal")


# A link to a heading: JupyterLab's anchor is the heading's text ("#Glossary", spaces as
# hyphens), MyST's the GitHub-style slug ("#glossary"). Lessons write JupyterLab's, which
# the site copy turns into MyST's.
_ANCHOR_LINK = re.compile(r"\]\(((?:[^()\s#]*\.ipynb)?)#([^()\s]+)\)")


def _site_anchors(text: str) -> str:
    """Markdown links to a heading, rewritten from JupyterLab's anchor to MyST's slug."""
    def slug(match: re.Match) -> str:
        anchor = re.sub(r"[^\w\- ]", "", match.group(2).lower()).replace(" ", "-")
        return f"]({match.group(1)}#{anchor})"

    return _ANCHOR_LINK.sub(slug, text)


def _preprocessors():
    from nbconvert.preprocessors import Preprocessor

    class StudentPreprocessor(Preprocessor):
        """Solutions emptied, reveals' text replaced, hidden answers' outputs cleared."""

        def preprocess_cell(self, cell, resources, index):
            tags = _tags(cell)
            if "solution" in tags:
                cell.source = STUDENT_SOLUTION
                cell.outputs = []
                cell.execution_count = None
                cell.metadata.pop("jupyter", None)
                cell.metadata["tags"] = [t for t in tags if t not in ("solution", "hide-input")]
            elif _is_reveal_text(cell):
                cell.source = STUDENT_REVEAL
                cell.metadata.pop("jupyter", None)
                cell.metadata["tags"] = [t for t in tags if t != "hide-input"]
            elif cell.cell_type == "code" and "hide-output" in tags:
                cell.outputs = []
                cell.execution_count = None
            return cell, resources

    class SitePreprocessor(Preprocessor):
        """Collapsed markdown wrapped in <details>; saved widget state dropped."""

        def preprocess(self, nb, resources):
            nb.metadata.pop("widgets", None)
            return super().preprocess(nb, resources)

        def preprocess_cell(self, cell, resources, index):
            if cell.cell_type == "markdown":
                cell.source = _site_anchors(cell.source)
            if _is_reveal_text(cell):
                first = cell.source.lstrip().splitlines()[0] if cell.source.strip() else ""
                summary = "Show the answer" if first.startswith("**Reveal") else "Show"
                # Blank lines around the text: MyST parses the markdown between the tags.
                cell.source = (f"<details class=\"reveal\">\n<summary>{summary}</summary>\n\n"
                               f"{cell.source}\n\n</details>")
            return cell, resources

    return StudentPreprocessor, SitePreprocessor


def _lessons(src: Path) -> list[Path]:
    lessons = sorted(src.glob("[0-9][0-9]-*.ipynb"))
    if not lessons:
        raise FileNotFoundError(f"no lessons (NN-name.ipynb) in {src}")
    return lessons


def _convert(src: Path, dest: Path, preprocessor_class) -> list[Path]:
    import nbformat

    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for path in _lessons(src):
        nb = nbformat.read(path, as_version=4)
        nb, _ = preprocessor_class().preprocess(nb, {})
        out = dest / path.name
        nbformat.write(nb, out)
        written.append(out)
    return written


# A file a lesson reads, or asks the reader to open, beside the repository's notebooks/
# folder ("../data/templates/x.yaml"): a path with a file extension.
_RELATIVE_FILE = re.compile(r"(?<![\w./])(\.\./[\w/-]+(?:\.[\w-]+)*\.\w+)")


def files_read(lesson: Path) -> list[str]:
    """The relative paths (``../data/...``) a lesson's cells name, in order."""
    import nbformat

    nb = nbformat.read(lesson, as_version=4)
    found = [m.group(1) for c in nb.cells for m in _RELATIVE_FILE.finditer(c.source)]
    return list(dict.fromkeys(found))


def student_copy(src: Path | str, dest: Path | str) -> list[Path]:
    """Write the learner's handout of every lesson in ``src`` into ``dest/notebooks``, with
    the files the lessons read by a path relative to their folder (``../data/...``) copied
    to the same place under ``dest``, so the handout runs as the lessons do; returns the
    files written. ``src`` is not changed."""
    src, dest = Path(src), Path(dest)
    student, _ = _preprocessors()
    written = _convert(src, dest / "notebooks", student)
    for lesson in _lessons(src):
        for relative in files_read(lesson):
            source = (src / relative).resolve()
            if not source.is_file():
                raise FileNotFoundError(f"{lesson.name} reads {relative}, which is not there")
            target = dest / "notebooks" / relative
            target = target.parent.resolve() / target.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            written.append(target)
    return written


def site_copy(src: Path | str, dest: Path | str, extra: tuple[Path | str, ...] = ()) -> list[Path]:
    """Write the lessons of ``src``, prepared for the rendered site, into ``dest``, with
    ``extra`` files (the site's index, the workshop guide) copied beside them."""
    _, site = _preprocessors()
    written = _convert(Path(src), Path(dest), site)
    for path in map(Path, extra):
        shutil.copy2(path, Path(dest) / path.name)
        written.append(Path(dest) / path.name)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simlib.lessons.handout",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=("student", "site"))
    parser.add_argument("src", type=Path, help="the lessons' folder (notebooks/)")
    parser.add_argument("dest", type=Path, help="where to write the copies")
    parser.add_argument("--extra", type=Path, nargs="*", default=(),
                        help="files copied beside the lessons (site only)")
    args = parser.parse_args(argv)
    if args.src.resolve() == args.dest.resolve():
        print(f"error: dest {args.dest} is the lessons' own folder: the copies would "
              "overwrite the answer key", file=sys.stderr)
        return 2
    try:
        if args.kind == "student":
            written = student_copy(args.src, args.dest)
        else:
            written = site_copy(args.src, args.dest, tuple(args.extra))
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} files to {args.dest}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
