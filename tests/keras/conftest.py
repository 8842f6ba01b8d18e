"""Keras tests run on the PyTorch backend, so TensorFlow is not needed."""

import os
import sys

if "keras" not in sys.modules:
    os.environ["KERAS_BACKEND"] = "torch"
