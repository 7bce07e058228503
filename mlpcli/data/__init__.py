"""CSV → arrays. One job per module, imports pointing downwards:

    source.py      where the bytes come from: regular file, pipe or stdin, compressed file
    csvread.py     read a CSV: sniff, encodings, shape checks, errors with line numbers
    arrowcsv.py    the fast reader (PyArrow), used where it reads as pandas' C parser does
    columns.py     columns as numbers, booleans or text; column selection, task, class labels
    preprocess.py  the Preprocessor: fit on training rows, transform, decode; saved in model.json
    bundled.py     the bundled datasets and what DATA names
    dataset.py     load_dataset: everything above, then the train/validation split
    cache.py       the parsed-data cache: a file's arrays, kept for the next run on it
    generate.py    seeded toy datasets (moons, circles, spirals, sine, xor)
"""

from mlpcli.data.bundled import bundled_dir, bundled_names, describe_bundled, resolve_data
from mlpcli.data.csvread import read_csv
from mlpcli.data.dataset import (
    Dataset,
    dataset_for,
    default_val_frac,
    load_dataset,
    split_rows,
    train_val_test,
)
from mlpcli.data.preprocess import Preprocessor
from mlpcli.data.source import file_sha256

__all__ = ["Dataset", "Preprocessor", "bundled_dir", "bundled_names", "dataset_for",
           "default_val_frac", "train_val_test",
           "describe_bundled", "file_sha256", "load_dataset", "read_csv", "resolve_data",
           "split_rows"]
