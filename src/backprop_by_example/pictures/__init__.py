"""The seed's pictures, redrawn for any weights: the network, the backward pass stage by stage, the walkthrough."""
