"""mlpcli: train small neural networks on CSV data from the terminal."""

__version__ = "0.1.0"
