"""Minibatches: the training rows, reshuffled each epoch, cut into views made once.

Two ways to shuffle, the same minibatches either way: narrow rows are gathered a whole epoch at a
time (one call for many small batches); wide ones (a minibatch of ≥ BATCH_GATHER_BYTES) a
minibatch at a time from the unshuffled rows into a buffer still in cache when the products read
it, instead of two passes over all the data per epoch. Shuffling a single minibatch would only
reorder a sum: then it is skipped.
"""

from __future__ import annotations

import numpy as np

from mlpcli.core.kernels import MLP, Workspace, aligned_empty
from mlpcli.core.losses import reduction_scale

GATHER_BYTES = 1 << 20  # an epoch's rows are gathered through a buffer of this size (in cache)
BATCH_GATHER_BYTES = 1 << 16  # minibatches at least this large gather their own rows


class BatchPlan:
    """The minibatches of (X, Y) for `model`, with every buffer the epochs reuse.

    `batches` has per minibatch: its training rows (a view, or the gather buffer), targets,
    class labels (or None), the reduction's scale (1, or 1/rows), the workspace's view of its
    outputs Ŷ, with `batch_gather` which rows of `rows` to gather into it (else None), and its
    rows' weights r_i (None without `row_weights`). X and Y must be C-contiguous in the model's
    dtype.
    """

    def __init__(self, model: MLP, X, Y, labels, batch_size: int, shuffle: bool, reduction: str,
                 row_weights=None):
        n = len(X)
        B = min(batch_size, n)
        self.ws = Workspace(model.sizes, B, model.dtype)
        self.X, self.Y, self.labels, self.R = X, Y, labels, row_weights
        self.shuffle = shuffle and n > B
        self.rows = model.training_rows(X)  # the rows the products read; shuffled in place
        self._inputs = model.inputs_of(self.rows)
        self.batch_gather = self.shuffle and B * self.rows[0].nbytes >= BATCH_GATHER_BYTES
        if self.shuffle:
            self.perm = np.empty(n, np.intp)
            if self.batch_gather:
                self._batch_rows = aligned_empty((B, self.rows.shape[1]), self.rows.dtype)
            else:
                chunk = max(1, GATHER_BYTES // max(1, X.shape[1] * X.itemsize))
                self._gather = np.empty((min(chunk, n), X.shape[1]), X.dtype)
            self.Ys = aligned_empty(Y.shape, Y.dtype)
            self.labels_s = None if labels is None else np.empty_like(labels)
            self.Rs = None if row_weights is None else np.empty_like(row_weights)
        else:
            self.Ys, self.labels_s, self.Rs = Y, labels, row_weights
        self.batches = []
        for s in range(0, n, B):
            size = min(B, n - s)
            self.batches.append((
                self._batch_rows[:size] if self.batch_gather else self.rows[s : s + B],
                self.Ys[s : s + B],
                None if self.labels_s is None else self.labels_s[s : s + B],
                reduction_scale(reduction, size),
                self.ws.views(size)[0][-1],
                self.perm[s : s + B] if self.batch_gather else None,
                None if self.Rs is None else self.Rs[s : s + B],
            ))
        self.last_Y = self.batches[-1][1]

    def reshuffle(self, rng: np.random.Generator) -> None:
        """Draw the epoch's order and gather targets and labels by it, and the rows unless each
        minibatch gathers its own (mode="clip": no bounds-checked copy of the output)."""
        if not self.shuffle:
            return
        perm = self.perm
        perm[...] = rng.permutation(len(perm))
        if not self.batch_gather:
            # into the rows' input columns through a small contiguous buffer: a gather straight
            # into strided columns would allocate a temporary the size of the data
            buf, step = self._gather, len(self._gather)
            for s in range(0, len(perm), step):
                chunk = perm[s : s + step]
                np.take(self.X, chunk, axis=0, out=buf[: len(chunk)], mode="clip")
                self._inputs[s : s + len(chunk)] = buf[: len(chunk)]
        np.take(self.Y, perm, axis=0, out=self.Ys, mode="clip")
        if self.labels_s is not None:
            np.take(self.labels, perm, out=self.labels_s, mode="clip")
        if self.Rs is not None:
            np.take(self.R, perm, out=self.Rs, mode="clip")
