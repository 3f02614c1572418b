"""Interactive panels for the lessons: sliders that re-simulate and redraw.

:func:`interactive` wraps a lesson's ``run_fn(**values) -> (figure, table)`` in an
ipywidgets panel: one control per parameter, a status line and an output area. The
panel calls ``run_fn`` with the controls' defaults when it is built (so a notebook run
headless still exercises the default path) and once per change of a control, and it
times every call, reporting "re-simulated in 0.12 s" so the reader sees how live the
model is.

A setting that ``run_fn`` rejects (a ScenarioError for a combination AWS refuses) is
reported as "Not run: ..." and the previous plot and table stay, greyed out under a
"stale" note that names the settings they belong to (see :meth:`Panel.update`).

ipywidgets is imported only when a panel is built: the rest of simlib works without it.
"""

from __future__ import annotations

import html
import statistics
import time
from collections.abc import Callable

__all__ = ["STALE_CLASS", "Panel", "interactive", "median_seconds"]

STALE_CLASS = "simlib-stale"
"""CSS class of a panel's output area while it shows a result older than the controls."""

# The greying travels with the note itself (a <style> in the note's HTML): the panel needs
# no stylesheet installed in JupyterLab, and once the note is emptied the rule is gone too.
_STALE_STYLE = (
    f"<style>.{STALE_CLASS} {{opacity: 0.35; filter: grayscale(100%);}}</style>"
)

# What a dropdown holds in place of an option whose value is None. ipywidgets reads a
# selection's value None as "nothing selected": depending on the order in which traitlets
# applies index, label and value when the widget is built (an order that follows the
# kernel's hash seed) the dropdown's index ends up None and JupyterLab shows it blank, in
# about half of the kernels. The widget therefore never holds None; Panel.values turns
# this marker back into None, so run_fn still receives None. A string, not an object(),
# so that it reads clearly when a reader prints the widget's value.
_NONE_OPTION = "<simlib.explore: None>"


def median_seconds(fn: Callable[[], object], repeats: int = 5) -> float:
    """Median wall time of ``repeats`` calls of ``fn()``: how lessons measure and state
    how fast their panels answer (a median, because a shared machine is noisy)."""
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats = {repeats!r} is not allowed: an integer >= 1")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _ipywidgets():
    try:
        import ipywidgets
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "simlib.explore needs ipywidgets (pip install 'serverless-lab[notebooks]')"
        ) from exc
    return ipywidgets


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _describe(name: str) -> str:
    """A control's label: the scenario field it names, with its unit.

    ``rate_per_s`` -> ``arrival rate (messages/s)`` when exactly one commonly swept
    field has that name, else the name read with its unit (``window_s`` -> ``window (s)``).
    """
    from simlib.lessons.plotting import PARAM_LABELS, label_for

    matches = [label for path, label in PARAM_LABELS.items() if path.rsplit(".", 1)[-1] == name]
    return matches[0] if len(matches) == 1 else label_for(name)


def _control(name: str, spec, widgets):
    """A widget from a widget or a shorthand.

    - a widget (anything with a ``value``): used as given;
    - ``(min, max, step)`` or ``(min, max, step, value)``: an IntSlider when all are
      integers, else a FloatSlider; the value defaults to ``min``;
    - a list of options (or of ``(label, value)`` pairs): a Dropdown, first option first;
    - ``True`` / ``False``: a Checkbox.
    """
    description = _describe(name)
    if isinstance(spec, widgets.ValueWidget):
        if not getattr(spec, "description", ""):
            spec.description = description
        return spec
    common = {"description": description, "style": {"description_width": "initial"},
              "layout": widgets.Layout(width="460px")}
    if isinstance(spec, bool):
        return widgets.Checkbox(value=spec, description=description, indent=False)
    if isinstance(spec, tuple) and len(spec) in (3, 4) and all(_is_number(v) for v in spec):
        lo, hi, step = spec[:3]
        value = spec[3] if len(spec) == 4 else lo
        if not lo <= value <= hi:
            raise ValueError(f"{name}: default {value!r} is outside {lo!r}..{hi!r}")
        if all(isinstance(v, int) for v in spec):
            return widgets.IntSlider(value=value, min=lo, max=hi, step=step,
                                     continuous_update=False, **common)
        return widgets.FloatSlider(value=value, min=lo, max=hi, step=step,
                                   continuous_update=False, readout_format=".2f", **common)
    if isinstance(spec, list) and spec:
        return widgets.Dropdown(options=_dropdown_options(spec), **common)
    raise TypeError(
        f"{name}: give a widget, (min, max, step[, value]), a list of options or a bool; "
        f"got {spec!r}"
    )


def _dropdown_options(spec: list) -> list[tuple[str, object]]:
    """``(label, value)`` pairs for a Dropdown, with a None value replaced by a marker.

    Labels follow ipywidgets' own rule (a list of 2-item pairs is ``(label, value)``,
    anything else is a list of values labelled ``str(value)``), so a lesson's list looks
    the same as before; only the value the widget holds for None differs (see
    ``_NONE_OPTION`` for why).
    """
    if all(isinstance(o, (list, tuple)) and len(o) == 2 for o in spec):
        pairs = [(str(label), value) for label, value in spec]
    else:
        pairs = [(str(value), value) for value in spec]
    return [(label, _NONE_OPTION if value is None else value) for label, value in pairs]


def _is_none_option(value) -> bool:
    # isinstance first: a value may be an array, whose == is not a bool
    return isinstance(value, str) and value == _NONE_OPTION


def _offers_none(control) -> bool:
    options = getattr(control, "options", None) or ()
    return any(isinstance(o, tuple) and len(o) == 2 and _is_none_option(o[1])
               for o in options)


def _shown(control) -> str:
    """A control's setting as the reader sees it: a dropdown's label, a slider's readout."""
    label = getattr(control, "label", None)
    if isinstance(label, str):
        return label
    value = control.value
    fmt = getattr(control, "readout_format", None)
    if _is_number(value) and isinstance(fmt, str):
        try:  # the slider's d3 format, which for ".2f" or "d" Python reads alike
            return format(value, fmt)
        except ValueError:
            pass
    return f"{value:g}" if isinstance(value, float) else str(value)


class Panel:
    """Controls, a status line and an output area around one ``run_fn``.

    Attributes: ``controls`` (name -> widget), ``status`` (HTML), ``output`` (Output),
    ``widget`` (the VBox that is displayed), ``timings`` (seconds per ``run_fn`` call),
    ``calls`` (how many times ``run_fn`` ran), ``error`` (the last failure, or None),
    ``stale`` (whether ``output`` shows a result older than the controls) and
    ``stale_note`` (the HTML line that says so, hidden while the output is current).
    """

    def __init__(self, run_fn: Callable, controls: dict, widgets):
        self.run_fn = run_fn
        self.controls = controls
        self._widgets = widgets
        self.status = widgets.HTML(value="")
        self.stale_note = widgets.HTML(value="", layout=widgets.Layout(display="none"))
        self.stale_note.add_class(f"{STALE_CLASS}-note")
        self.output = widgets.Output()
        self.widget = widgets.VBox(
            [widgets.VBox(list(controls.values())), self.status, self.stale_note, self.output]
        )
        self.timings: list[float] = []
        self.calls = 0
        self.error: Exception | None = None
        self.stale = False
        self._drawn_with = ""  # the settings of the result on display, as the reader sees them
        for control in controls.values():
            control.observe(self._on_change, names="value")
        self.update(raise_errors=True)

    @property
    def values(self) -> dict:
        """The controls' values as ``run_fn`` receives them (a "none" option as None)."""
        return {name: None if _is_none_option(control.value) else control.value
                for name, control in self.controls.items()}

    def _on_change(self, change) -> None:
        owner = change.get("owner") if isinstance(change, dict) else None
        if owner is not None and change.get("new") is None and _offers_none(owner):
            # Code set a dropdown to None (what the lesson's option list says): select the
            # "none" option instead of leaving the dropdown blank; that change runs.
            owner.value = _NONE_OPTION
            return
        self.update()

    def update(self, raise_errors: bool = False) -> None:
        """Run ``run_fn`` with the current values, then redraw and report the time.

        A failure (for instance a ScenarioError for a combination AWS rejects) is shown
        in the status line; when the panel is first built it is raised instead, so a
        broken default fails the notebook rather than hiding in a widget.

        After a failure the plot and table of the last accepted settings stay, but greyed
        out (the output area gets :data:`STALE_CLASS`) under a "stale" note naming those
        settings; the next accepted setting redraws and restores the normal look. Greyed
        rather than cleared because a learner who has just been told "Not run" still
        wants the last good picture to compare with and to find the way back, and the
        panel keeps its height instead of collapsing and jumping the page; greyed rather
        than left alone because a plot in full colour under a moved slider reads as the
        result of that slider.
        """
        from IPython.display import clear_output, display

        values = self.values
        self.calls += 1
        start = time.perf_counter()
        try:
            produced = self.run_fn(**values)
        except Exception as exc:
            if raise_errors:
                raise
            self.error = exc
            self.status.value = (
                "<b style='color:#D55E00'>Not run:</b> " + html.escape(str(exc))
            )
            self._mark_stale()
            return
        elapsed = time.perf_counter() - start
        self.error = None
        self._drawn_with = ", ".join(
            f"{control.description or name} = {_shown(control)}"
            for name, control in self.controls.items()
        )
        self.timings.append(elapsed)
        items = produced if isinstance(produced, tuple) else (produced,)
        start = time.perf_counter()
        with self.output:
            clear_output(wait=True)
            for item in items:
                if item is not None:
                    display(item)
        drawn = time.perf_counter() - start
        self._mark_current()
        self.status.value = f"re-simulated in {elapsed:.2f} s, redrawn in {drawn:.2f} s"

    def _mark_stale(self) -> None:
        self.stale = True
        self.output.add_class(STALE_CLASS)
        self.stale_note.value = (
            _STALE_STYLE
            + "<span style='color:#555'><b>Stale:</b> the greyed plot and table below are "
            + "for the last accepted settings, not the ones above: "
            + html.escape(self._drawn_with) + "</span>"
        )
        self.stale_note.layout.display = None

    def _mark_current(self) -> None:
        self.stale = False
        self.output.remove_class(STALE_CLASS)
        self.stale_note.value = ""
        self.stale_note.layout.display = "none"

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"<Panel {', '.join(self.controls)}>"


def interactive(run_fn: Callable, **widgets) -> Panel:
    """An ipywidgets panel that calls ``run_fn(**values)`` and shows what it returns.

    Each keyword names a parameter of ``run_fn`` and gives its control: a widget, or a
    shorthand ``(min, max, step, value)`` slider, a list of options (dropdown) or a
    bool (checkbox). ``run_fn`` returns a figure, a table, or a tuple of them
    (``(figure, table)``), shown in order in the panel's output area. Sliders update
    when released, so a drag costs one re-simulation.

    >>> panel = interactive(run, rate_per_s=(10, 100, 10, 50), batch_size=(1, 100, 1, 10))
    ... # doctest: +SKIP
    """
    if not callable(run_fn):
        raise TypeError("interactive needs a function run_fn(**values)")
    if not widgets:
        raise TypeError("interactive needs at least one control, e.g. rate_per_s=(10, 100, 10, 50)")
    ipw = _ipywidgets()
    controls = {name: _control(name, spec, ipw) for name, spec in widgets.items()}
    return Panel(run_fn, controls, ipw)
