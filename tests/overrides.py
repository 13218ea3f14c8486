"""Hydra command-line overrides written as a user types them."""

import numpy as np


def matrix(key, A):
    """`key=[[a,b],[c,d]]`: a matrix (nested lists or an array) as one override, without spaces (one shell word)."""
    return f"{key}={np.asarray(A).tolist()}".replace(" ", "")
