"""What a run writes for TensorBoard: the loss, every weight and gradient, the pictures."""
