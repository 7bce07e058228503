"""CSV → arrays: reading and validating files, preprocessing, splits, bundled and generated sets."""

from mlpcli.data.dataset import (
    Dataset,
    Preprocessor,
    bundled_dir,
    bundled_names,
    default_val_frac,
    describe_bundled,
    file_sha256,
    load_dataset,
    read_csv,
    resolve_data,
    split_rows,
)

__all__ = ["Dataset", "Preprocessor", "bundled_dir", "bundled_names", "default_val_frac",
           "describe_bundled", "file_sha256", "load_dataset", "read_csv", "resolve_data",
           "split_rows"]
