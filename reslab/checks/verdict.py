"""What every checker shares: the `Verdict` it returns and safe ways to call the learner's
code (a checker never raises, whatever the answer does)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import keras
import numpy as np

from reslab import compare
from reslab.autodiff import to_numpy


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of a check: `passed`, and the feedback shown to the learner."""

    passed: bool
    message: str

    def __repr__(self) -> str:
        # Plain-text marks: emoji render as empty boxes where no emoji font is installed.
        return ("[pass] " if self.passed else "[fail] ") + self.message

    def __bool__(self) -> bool:
        return self.passed


def _fail(message: str) -> Verdict:
    return Verdict(False, message)


def _call(fn: Callable, *args) -> tuple[object, Verdict | None]:
    """Run the learner's function; turn an exception into feedback instead of a traceback."""
    try:
        return fn(*args), None
    except NotImplementedError:
        return None, _fail(f"Not attempted yet: `{fn.__name__}` still raises NotImplementedError.")
    except Exception as err:  # the learner's bug, reported in one short line
        text = (str(err).strip().splitlines() or [""])[0]
        text = text if len(text) <= 200 else text[:200] + " …"
        return None, _fail(f"`{fn.__name__}` raised {type(err).__name__}: {text}")


def _result(fn: Callable, *args) -> tuple[object, Verdict | None]:
    """`_call`, and "not attempted" feedback when the learner's function returns None."""
    result, error = _call(fn, *args)
    if error is None and result is None:
        error = _fail(f"Not attempted yet: `{fn.__name__}` returned None.")
    return result, error


def _build_model(fn: Callable, *args) -> tuple[keras.Model | None, Verdict | None]:
    """Run the learner's model builder; feedback if it fails or returns no keras.Model."""
    model, error = _result(fn, *args)
    if error is None and not isinstance(model, keras.Model):
        error = _fail(f"Expected a keras.Model. Received: {type(model).__name__}")
    return model, error


def _as_floats(result: object) -> np.ndarray:
    if isinstance(result, dict):
        result = list(result.values())
    if hasattr(result, "to_numpy"):  # pandas
        result = result.to_numpy()
    return np.array([float(to_numpy(v)) for v in result], dtype=float)


def _model_of(x, y) -> tuple[keras.Model | None, Verdict | None]:
    """The model from x to the learner's output y; feedback if Keras cannot build it."""
    try:
        return keras.Model(x, y), None
    except Exception as err:  # e.g. an output that does not depend on x
        return None, _fail(
            f"Keras could not build a model from x to your output ({type(err).__name__}); "
            "make sure every layer is applied to a tensor computed from x."
        )


def _same_as(model: keras.Model, reference: keras.Model, shape: tuple) -> str | None:
    """None if `model` computes what `reference` does on a random batch of `shape`; else why."""
    value = np.random.default_rng(0).normal(size=(2, *shape)).astype("float32")
    same, why = compare.same_function(model, reference, value)
    return None if same else why
