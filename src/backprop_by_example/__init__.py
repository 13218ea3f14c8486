"""Backpropagation, by example: the seed notebook's 2-2-2 sigmoid network as a Lightning + Hydra project.

Where each of the seed's ideas lives:
    by_hand   cells 2-7, 15-22, 29: the forward and backward pass worked out by hand, in numpy (the oracle)
    tape      cells 8-10: a tiny reverse-mode autodiff tape
    network   cells 11-14: the same network in PyTorch, H = sigmoid(X @ W), Y = sigmoid(H @ V)
    module    cells 23-24: summed squared error and plain SGD, as a LightningModule
    data      cell 29: the training instances X and targets T
    config    the structured configs that `conf/` fills in
    training  cells 29-30: build, fit, summarise
"""
