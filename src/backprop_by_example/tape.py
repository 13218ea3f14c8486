"""A minimal reverse-mode autodiff tape (the seed's cells 8-10, written our own way).

Every operation on a `Node` computes its value at once and records, on the tape, the node together with its
local derivatives d(node)/d(input). `Tape.backward` then walks the tape in reverse order, so each node's gradient
is complete before it is handed on to its inputs:  input.grad += local_derivative * node.grad  (the chain rule).
"""

import math


class Tape:
    """The nodes in the order they were computed."""

    def __init__(self):
        self.nodes = []

    def constant(self, value):
        """A leaf: an input, a target or a weight."""
        return Node(self, float(value), ())

    def backward(self, output):
        """Fill in node.grad = d(output)/d(node) for every node on the tape."""
        for node in self.nodes:
            node.grad = 0.0
        output.grad = 1.0
        for node in reversed(self.nodes):
            for input_, local in node.inputs:
                input_.grad += local * node.grad


class Node:
    """A scalar value on a tape; `inputs` pairs each input node with d(self)/d(input)."""

    def __init__(self, tape, value, inputs):
        self.tape = tape
        self.value = value
        self.inputs = inputs
        self.grad = 0.0
        tape.nodes.append(self)

    def _new(self, value, *inputs):
        return Node(self.tape, value, inputs)

    def __add__(self, other):
        return self._new(self.value + other.value, (self, 1.0), (other, 1.0))

    def __sub__(self, other):
        return self._new(self.value - other.value, (self, 1.0), (other, -1.0))

    def __mul__(self, other):
        return self._new(self.value * other.value, (self, other.value), (other, self.value))

    def square(self):
        return self._new(self.value**2, (self, 2 * self.value))

    def sigmoid(self):
        e = math.exp(-abs(self.value))  # never overflows; the same function as 1 / (1 + exp(-value))
        s = 1.0 / (1.0 + e) if self.value >= 0 else e / (1.0 + e)
        return self._new(s, (self, s * (1 - s)))


def backprop(x, t, W, V):
    """One instance through the network, built from scalar nodes; returns values and gradients as nested lists.

    h_j = sigmoid(sum_i x_i w_ij),  y_k = sigmoid(sum_j h_j v_jk),  L = sum_k (y_k - t_k)**2.
    """
    tape = Tape()
    x = [tape.constant(v) for v in x]
    t = [tape.constant(v) for v in t]
    W = [[tape.constant(v) for v in row] for row in W]
    V = [[tape.constant(v) for v in row] for row in V]

    h_in = [_weighted_sum(x, W, j) for j in range(len(W[0]))]
    h_out = [h.sigmoid() for h in h_in]
    y_in = [_weighted_sum(h_out, V, k) for k in range(len(V[0]))]
    y_out = [y.sigmoid() for y in y_in]
    e = [y - t_k for y, t_k in zip(y_out, t, strict=True)]
    loss = _sum([e_k.square() for e_k in e])

    tape.backward(loss)
    values = dict(h_in=h_in, h_out=h_out, y_in=y_in, y_out=y_out, e=e)
    grads = dict(grad_y_out=y_out, grad_y_in=y_in, grad_h_out=h_out, grad_h_in=h_in, grad_x=x, grad_W=W, grad_V=V)
    result = {name: _map(lambda n: n.value, nodes) for name, nodes in values.items()}
    result["loss"] = loss.value
    result.update({name: _map(lambda n: n.grad, nodes) for name, nodes in grads.items()})
    return result


def _weighted_sum(inputs, weights, j):
    return _sum([inputs[i] * weights[i][j] for i in range(len(inputs))])


def _sum(nodes):
    total = nodes[0]
    for node in nodes[1:]:
        total = total + node
    return total


def _map(f, nested):
    return [_map(f, item) for item in nested] if isinstance(nested, list) else f(nested)
