"""`make prefetch`: before a workshop without reliable internet, fetch every dataset and
weights file the course uses into the caches, then say what is present and what is missing.

    .venv/bin/python -m reslab.prefetch            # fetch what is missing, then report
    .venv/bin/python -m reslab.prefetch --check    # only report; download nothing
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from reslab import data, weights


def _fashion_mnist(download: bool) -> Path:
    folder = data.find_fashion_mnist()
    if folder is None and download:
        data.load_fashion_mnist()  # downloads through Keras into its cache
        folder = data.find_fashion_mnist()
    if folder is None:
        raise data.DataNotFoundError(
            "not in any of: " + ", ".join(map(str, data.fashion_mnist_dirs()))
        )
    return folder


def _cifar10(download: bool) -> Path:
    import keras

    folder = data.keras_datasets_dir() / "cifar-10-batches-py"
    if not (folder / "test_batch").is_file():
        if not download:
            raise data.DataNotFoundError(f"not in {folder}")
        try:
            keras.datasets.cifar10.load_data()
        except Exception as err:
            raise data.DataNotFoundError(
                f"not in {folder} and the download failed ({data.download_problem(err)})"
            ) from err
    return folder


ITEMS: dict[str, Callable[[bool], Path]] = {
    "Fashion-MNIST (notebooks 00-07)": _fashion_mnist,
    "CIFAR-10 (notebook 07, reslab.experiments cifar)": _cifar10,
    "ResNet-50 ImageNet weights, with top (notebook 05)": lambda download: (
        weights.fetch_resnet50_weights(include_top=True, download=download)
    ),
    "ResNet-50 ImageNet weights, no top (notebooks 08-09)": lambda download: (
        weights.fetch_resnet50_weights(include_top=False, download=download)
    ),
    "flower photos (notebook 08)": lambda download: data.flower_photos(download=download),
}


def prefetch(download: bool = True) -> dict[str, str | None]:
    """Fetch (or, without `download`, only look for) every item; print one line each.
    Returns {item: None if present, else why it is missing}."""
    missing: dict[str, str | None] = {}
    for name, fetch in ITEMS.items():
        try:
            where = fetch(download)
            missing[name] = None
            print(f"  present  {name}: {where}")
        except Exception as err:  # report every item, whatever went wrong with one
            missing[name] = str(err).splitlines()[0] if str(err) else type(err).__name__
            print(f"  MISSING  {name}: {missing[name]}")
    absent = [name for name, why in missing.items() if why]
    if absent:
        print(
            f"{len(absent)} of {len(ITEMS)} missing. "
            + ("Is this machine offline? " if download else "")
            + "Connect to the internet and run `make prefetch` again; the notebooks that need "
            "them stop with this message until then (the quick profile uses stand-ins)."
        )
    else:
        print(f"All {len(ITEMS)} present: the course runs without internet on this machine.")
    return missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="download nothing; only report")
    missing = prefetch(download=not parser.parse_args().check)
    raise SystemExit(1 if any(missing.values()) else 0)


if __name__ == "__main__":
    main()
