"""Interactive panels for the lessons: sliders that re-simulate and redraw.

:func:`interactive` wraps a lesson's ``run_fn(**values) -> (figure, table)`` in an
ipywidgets panel: one control per parameter, a status line and an output area. The
panel calls ``run_fn`` with the controls' defaults when it is built (so a notebook run
headless still exercises the default path) and once per change of a control, and it
times every call, reporting "re-simulated in 0.12 s" so the reader sees how live the
model is.

ipywidgets is imported only when a panel is built: the rest of simlib works without it.
"""

from __future__ import annotations

import html
import statistics
import time
from collections.abc import Callable

__all__ = ["Panel", "interactive", "median_seconds"]


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
    from simlib.plotting import PARAM_LABELS, label_for

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
        return widgets.Dropdown(options=spec, **common)
    raise TypeError(
        f"{name}: give a widget, (min, max, step[, value]), a list of options or a bool; "
        f"got {spec!r}"
    )


class Panel:
    """Controls, a status line and an output area around one ``run_fn``.

    Attributes: ``controls`` (name -> widget), ``status`` (HTML), ``output`` (Output),
    ``widget`` (the VBox that is displayed), ``timings`` (seconds per ``run_fn`` call),
    ``calls`` (how many times ``run_fn`` ran) and ``error`` (the last failure, or None).
    """

    def __init__(self, run_fn: Callable, controls: dict, widgets):
        self.run_fn = run_fn
        self.controls = controls
        self._widgets = widgets
        self.status = widgets.HTML(value="")
        self.output = widgets.Output()
        self.widget = widgets.VBox(
            [widgets.VBox(list(controls.values())), self.status, self.output]
        )
        self.timings: list[float] = []
        self.calls = 0
        self.error: Exception | None = None
        for control in controls.values():
            control.observe(self._on_change, names="value")
        self.update(raise_errors=True)

    @property
    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def _on_change(self, change) -> None:
        self.update()

    def update(self, raise_errors: bool = False) -> None:
        """Run ``run_fn`` with the current values, then redraw and report the time.

        A failure (for instance a ScenarioError for a combination AWS rejects) is shown
        in the status line; when the panel is first built it is raised instead, so a
        broken default fails the notebook rather than hiding in a widget.
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
            return
        elapsed = time.perf_counter() - start
        self.error = None
        self.timings.append(elapsed)
        items = produced if isinstance(produced, tuple) else (produced,)
        start = time.perf_counter()
        with self.output:
            clear_output(wait=True)
            for item in items:
                if item is not None:
                    display(item)
        drawn = time.perf_counter() - start
        self.status.value = f"re-simulated in {elapsed:.2f} s, redrawn in {drawn:.2f} s"

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
