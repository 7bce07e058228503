"""The numerics: the lecture's network and its fast path, losses, optimizers, the training loop
and the gradient check. Nothing here prints or touches the filesystem."""
