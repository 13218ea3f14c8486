"""One self-contained HTML page (page.html: its CSS, JavaScript and data inline, no request of any kind): the
walkthrough to step through and edit (backprop.html, from scripts/explain.py), or a logged run to scrub through
(training.html, from log/page.py).

The page recomputes in the browser what by_hand.py computes (JavaScript numbers are IEEE float64, as numpy's), and
keeps each value's full digits in its element's `data-value` (the tests read them there).
"""

import json
import os
from importlib.resources import files
from pathlib import Path

MAX_DATA_NUMBERS = 2**16  # of X and T, carried for the full-batch steps; a larger data set: the instance alone


def html(data, title):
    """page.html with `data` as its DATA (a JavaScript literal: NaN and Infinity are JavaScript's own)."""
    literal = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")  # no </script> inside the script
    template = files(__package__).joinpath("page.html").read_text(encoding="utf-8")
    return template.replace("__TITLE__", title).replace("__DATA__", literal)


def explain_page(x, t, W, V, X, T, lr, instance, heading):
    """backprop.html's text: the seven stages for instance x with target t, editable, with SGD over X, T."""
    data = {"kind": "explain", "x": list(x), "t": list(t), "W": _lists(W), "V": _lists(V), "lr": float(lr),
            "instance": instance, "heading": f"Backprop by example: {heading}", "left_out": [],
            "X": _lists(X), "T": _lists(T)}  # fmt: skip
    if X.size + T.size > MAX_DATA_NUMBERS:
        data["X"] = data["T"] = None
        data["left_out"].append(f"the other instances ({len(X)} in all, too many to carry): steps over this one only")
    return html(data, "Backprop by example: the backward pass")


def write(path, text):
    """The page whole or not at all: written beside its name, then renamed. An OSError names the page."""
    path = Path(path)
    part = path.with_name(f".{path.name}.part")
    try:
        part.write_text(text, encoding="utf-8")
        os.replace(part, path)
    except OSError as error:  # a full disk, a directory of that name
        raise OSError(error.errno, error.strerror, str(path)) from None
    finally:
        part.unlink(missing_ok=True)


def _lists(A):
    return [[float(v) for v in row] for row in A]
