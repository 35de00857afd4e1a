"""Labels shared by the data and the model, in a leaf module that imports nothing.

The data side writes them (masked-token labels, NSP pairs) and the model side
reads them (losses, metrics), so they live below both.
"""

__all__ = ["IGNORE_INDEX", "IS_NEXT", "NOT_NEXT"]

IGNORE_INDEX = -100  # label of positions that do not count in a loss (PyTorch's and HF's convention)

IS_NEXT, NOT_NEXT = 0, 1  # NSP labels, as in the paper's released code and Hugging Face
