"""Backpropagation, by example: the seed notebook's 2-2-2 sigmoid network as a Lightning + Hydra project.

Where each of the seed's ideas lives:
    by_hand         cells 2-7, 15-22, 29: the forward and backward pass worked out by hand, in numpy (the oracle)
    tape            cells 8-10: a tiny reverse-mode autodiff tape
    network         cells 11-14: the same network in PyTorch, H = sigmoid(X @ W), Y = sigmoid(H @ V)
    torch_by_hand   cells 2-7, 15-20 in torch, as what trains: the hand-derived backward pass, and fused
    module          cells 23-24: summed squared error and plain SGD, as a LightningModule
    data            cell 29: the training instances X and targets T
    config          the structured configs that `conf/` fills in, and the checks of their values
    trainer_args    trainer.*: Lightning's arguments, checked before Lightning sees them
    training        cells 29-30: build, fit, summarise
    checkpoint      when last.ckpt is written: every n epochs, after the last, on a stop, always between updates
    resume          what a checkpoint holds, and what a resume may change
    stopping        Ctrl-C and SIGTERM ask the run to stop after the update under way
    preflight       what Hydra checks before any job starts: the config, the run dir, every job of a sweep
    console         Lightning's messages into Hydra's log (the console and train.log)
    progress        one progress bar across the epochs in a terminal, a line now and then in a file
    tensorboard_log what TensorBoard shows: the loss, every weight and gradient, the picture
    animation       training.gif: the picture beside the loss curve, streamed to disk, whole across a stop and resume
    picture         the network drawn for one instance, with each weight and its gradient; stage frames, gif frames
    stages          the backward pass stage by stage, in the seed's order: what each of its pictures shows
    explain         cells 2-14 for any weights: every value, five engines' gradients, the stage pictures
    benchmark       where the time goes: numpy, plain PyTorch, this project and bare Lightning
"""
