"""Backpropagation, by example: the seed notebook's 2-2-2 sigmoid network as a Lightning + Hydra project.

The lesson, one idea a module:
    by_hand         cells 2-7, 15-22, 29: the forward and backward pass worked out by hand, in numpy (the oracle)
    tape            cells 8-10: a tiny reverse-mode autodiff tape
    network         cells 11-14: the same network in PyTorch, H = sigmoid(X @ W), Y = sigmoid(H @ V)
    torch_by_hand   cells 15-20 in torch, as what trains with model.gradients=by_hand; the fused step (cells 2-7)
    module          cells 23-24: summed squared error and plain SGD, as a LightningModule
    data            cell 29: the training instances X and targets T, as a LightningDataModule

One level down, what makes runs safe and visible:
    run/            the run's plumbing: schema (the structured configs), checks and errors (bad input in one line),
                    inputs and csv_file (data and weights from the config), trainer_args, training (build, fit),
                    report (summary.json), checkpoint, resume, stopping, skipped, preflight, console, progress,
                    benchmark
    log/            what TensorBoard gets: scalars (loss, weights, grads), instances, pictures, hparams; and
                    animation (training.gif)
    pictures/       the seed's pictures redrawn for any weights: picture (the network), stages (the backward pass
                    stage by stage), explain (the walkthrough of cells 2-14, five engines' gradients)
"""
