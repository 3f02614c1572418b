"""simlib.explore panels: a dropdown option whose value is None, and a rejected setting.

The general behaviour of panels (defaults run when built, one run per change, shorthands)
is tested in test_plotting.py; this file covers issue 9:

- lessons 05, 06 and 09 offer ``max_concurrency=[("none", None), ("2", 2), ...]``, and
  ipywidgets treats a selection whose *value* is None as "nothing selected", so the
  dropdown came up blank in some kernels (which ones depended on the hash seed);
- a setting that ``run_fn`` rejects left the previous plot and table on screen looking
  current.
"""

import pandas as pd
import pytest

import simlib


@pytest.fixture
def ipywidgets():
    return pytest.importorskip("ipywidgets")


def _concurrency_run_fn(calls):
    def run(rate_per_s, max_concurrency):
        calls.append({"rate_per_s": rate_per_s, "max_concurrency": max_concurrency})
        return None, pd.DataFrame({"max_concurrency": [max_concurrency]})
    return run


def _option_values(dropdown):
    return [value for _label, value in dropdown.options]


# -- a None option --------------------------------------------------------------------


def test_dropdown_with_a_none_option_shows_its_label_and_passes_none(ipywidgets):
    from simlib.explore import interactive

    calls = []
    panel = interactive(_concurrency_run_fn(calls), rate_per_s=(10, 100, 10, 50),
                        max_concurrency=[("none", None), ("2", 2), ("5", 5)])
    dropdown = panel.controls["max_concurrency"]
    assert isinstance(dropdown, ipywidgets.Dropdown)
    assert None not in _option_values(dropdown), "a None value reads as 'no selection'"
    assert dropdown.value is not None
    assert (dropdown.index, dropdown.label) == (0, "none")
    assert [label for label, _ in dropdown.options] == ["none", "2", "5"]
    assert calls == [{"rate_per_s": 50, "max_concurrency": None}]
    assert panel.values == {"rate_per_s": 50, "max_concurrency": None}

    dropdown.label = "2"  # what the browser does: it sends the index of the chosen label
    assert calls[-1] == {"rate_per_s": 50, "max_concurrency": 2}
    dropdown.value = 5
    assert calls[-1] == {"rate_per_s": 50, "max_concurrency": 5}
    dropdown.index = 0
    assert calls[-1] == {"rate_per_s": 50, "max_concurrency": None}
    assert len(calls) == 4 and panel.calls == 4


def test_setting_a_none_option_from_code_selects_it_rather_than_blanking(ipywidgets):
    from simlib.explore import interactive

    calls = []
    panel = interactive(_concurrency_run_fn(calls), rate_per_s=(10, 100, 10, 50),
                        max_concurrency=[("2", 2), ("none", None)])
    dropdown = panel.controls["max_concurrency"]
    assert dropdown.label == "2" and calls[-1]["max_concurrency"] == 2
    dropdown.value = None  # what a reader of the lesson's code would type
    assert (dropdown.index, dropdown.label) == (1, "none")
    assert calls[-1]["max_concurrency"] is None
    assert len(calls) == 2, "the detour through 'no selection' must not run the model"


def test_plain_option_lists_keep_their_labels_and_values(ipywidgets):
    from simlib.explore import interactive

    seen = []
    panel = interactive(lambda mode: seen.append(mode), mode=[None, "fifo", 3])
    dropdown = panel.controls["mode"]
    assert [label for label, _ in dropdown.options] == ["None", "fifo", "3"]
    assert None not in _option_values(dropdown) and dropdown.label == "None"
    dropdown.label = "3"
    dropdown.label = "fifo"
    assert seen == [None, 3, "fifo"]


# -- a rejected setting ---------------------------------------------------------------


def _batch_run_fn(calls):
    def run(rate_per_s, batch_size):
        calls.append((rate_per_s, batch_size))
        if batch_size > 10:
            raise simlib.ScenarioError("mapping.batching_window_s", 0, ">= 1 when batch_size > 10")
        return None, pd.DataFrame({"rate": [rate_per_s], "batch": [batch_size]})
    return run


def _shown_tables(panel):
    return [o["data"]["text/plain"] for o in panel.output.outputs]


def test_rejected_setting_greys_out_the_last_result_until_one_is_accepted(ipywidgets):
    from simlib.explore import STALE_CLASS, interactive

    calls = []
    panel = interactive(_batch_run_fn(calls), rate_per_s=(10, 100, 10, 50),
                        batch_size=(1, 100, 1, 10))
    assert panel.stale is False
    assert STALE_CLASS not in panel.output._dom_classes
    assert panel.stale_note.layout.display == "none" and panel.stale_note.value == ""
    assert panel.stale_note in panel.widget.children
    # the status line comes first: the browser test finds it as the first HTML widget
    children = list(panel.widget.children)
    assert children.index(panel.status) < children.index(panel.stale_note)
    assert children.index(panel.stale_note) < children.index(panel.output)
    panel.output.outputs = ({"output_type": "display_data", "metadata": {},
                             "data": {"text/plain": "the accepted table"}},)

    panel.controls["batch_size"].value = 50
    assert "Not run" in panel.status.value
    assert panel.stale is True
    assert STALE_CLASS in panel.output._dom_classes
    assert panel.stale_note.layout.display != "none"
    note = panel.stale_note.value
    assert "stale" in note.lower()
    assert "batch size (messages) = 10" in note, "the note says which settings are shown"
    assert "opacity" in note, "the note carries the style that greys the output out"
    assert _shown_tables(panel) == ["the accepted table"], "kept, greyed, not cleared"

    panel.controls["rate_per_s"].value = 60  # still rejected: still stale, same settings
    assert panel.stale is True and "batch size (messages) = 10" in panel.stale_note.value
    assert "arrival rate (messages/s) = 50" in panel.stale_note.value

    panel.controls["batch_size"].value = 5
    assert panel.status.value.startswith("re-simulated in")
    assert panel.stale is False
    assert STALE_CLASS not in panel.output._dom_classes
    assert panel.stale_note.layout.display == "none" and panel.stale_note.value == ""
    assert calls[-1] == (60, 5)


def test_stale_note_reads_the_settings_as_the_controls_show_them(ipywidgets):
    from simlib.explore import interactive

    def run(window_s, max_concurrency, rbf):
        if window_s > 1:
            raise ValueError("window too long")
        return pd.DataFrame({"w": [window_s]})

    panel = interactive(run, window_s=(0.0, 5.0, 0.5, 0.5),
                        max_concurrency=[("none", None), ("2", 2)], rbf=True)
    panel.controls["window_s"].value = 2.0
    note = panel.stale_note.value
    assert "window (s) = 0.50" in note, note  # as the slider's readout shows it
    assert "= none" in note and "= True" in note, note
    assert "&lt;" not in note and "simlib.explore: None" not in note, "no marker leaks"
