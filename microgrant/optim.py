"""Optimisers: what to do with the gradients once backprop has computed them.

``loss.backward()`` leaves d(loss)/d(p) in ``p.grad`` for every parameter p.  Gradient descent
then moves each parameter a little way downhill, ``p.data -= lr * p.grad``, and repeats.  The
optimisers here are refinements of that one line, with PyTorch's update rules and defaults, so
a run can be checked number for number against ``torch.optim``:

* `SGD` with momentum: keep a running velocity, so steps build up along a consistent
  direction and damp out where the gradient keeps changing sign;
* `RMSprop`: divide each step by a running root-mean-square of that parameter's gradients, so
  every parameter moves at about the same speed whatever the scale of its gradient;
* `Adam`: both at once (momentum and RMS scaling), with a correction for the running averages
  starting at zero.

Each has ``step()`` (one update from the current ``.grad``) and ``zero_grad()``.  A training
loop is always the same four lines::

    loss = ...                 # forward pass
    optimizer.zero_grad()      # gradients accumulate (+=), so clear last step's
    loss.backward()
    optimizer.step()
"""

from __future__ import annotations

import math

from .checks import fraction, nonnegative, shown
from .engine import Value

__all__ = ["Optimizer", "SGD", "RMSprop", "RMSProp", "Adam"]


class Optimizer:
    """The common part of every optimiser: the list of parameters it updates.

    Args:
        params: the Values to train, e.g. ``model.parameters()``.  Each must take a
            gradient (not a constant), and each may appear only once.

    >>> w = Value(1.0)
    >>> opt = SGD([w], lr=0.1)
    >>> (w * w).backward(); opt.step(); w.data     # 1 - 0.1 * 2
    0.8
    """

    def __init__(self, params):
        if isinstance(params, Value):
            raise TypeError("params must be a list of Values (e.g. model.parameters()); got a "
                            "single Value: wrap it in a list")
        try:
            params = list(params)
        except TypeError:
            raise TypeError(f"params must be a list of Values (e.g. model.parameters()); got "
                            f"{type(params).__name__}") from None
        if not params:
            raise ValueError("the optimiser got an empty list of parameters: there is nothing "
                             "to train (did the model build any layers?)")
        seen = set()
        for i, p in enumerate(params):
            if not isinstance(p, Value):
                raise TypeError(f"params[{i}] must be a Value; got {shown(p)}")
            label = f" ('{p.label}')" if p.label else ""
            if p.grad is None:
                raise ValueError(f"params[{i}]{label} is a constant (requires_grad=False, "
                                 "grad None): it gets no gradient, so it cannot be trained")
            if p.inputs:
                raise ValueError(f"params[{i}]{label} was made by an op ({p.op!r}); only "
                                 "leaf Values (weights, biases) can be trained")
            if id(p) in seen:
                raise ValueError(f"params[{i}]{label} appears more than once; each "
                                 "parameter must be listed once, or it would be updated twice")
            seen.add(id(p))
        self.params = params

    def zero_grad(self) -> None:
        """Sets every parameter's ``grad`` to 0, ready for the next ``backward``.

        >>> w = Value(1.0)
        >>> opt = SGD([w], lr=0.1)
        >>> (w * w).backward(); (w * w).backward()
        >>> w.grad                      # backward adds: 2w, twice
        4.0
        >>> opt.zero_grad(); w.grad
        0.0
        """
        for p in self.params:
            if p.grad is not None:
                p.grad = 0.0

    weight_decay = 0.0  # optimisers that take an L2 term set their own

    def _gradients(self):
        """(index, parameter, gradient) for each parameter that has one, with the L2 term.

        ``weight_decay`` adds ``decay * p`` to the gradient: the derivative of the penalty
        ``decay / 2 * p^2``, applied here as PyTorch does rather than built into the loss.
        """
        decay = self.weight_decay
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:  # made constant since: nothing to follow
                continue
            yield i, p, (g + decay * p.data if decay else g)

    def step(self) -> None:  # pragma: no cover - every optimiser defines its own
        """Moves every parameter once against its gradient; each optimiser has its own rule.

        A new optimiser defines this method; ``params`` holds the Values to move.

        >>> class SignDescent(Optimizer):
        ...     def step(self):
        ...         for p in self.params:           # a fixed step of 0.1 downhill
        ...             p.data -= 0.1 if p.grad > 0 else -0.1 if p.grad < 0 else 0.0
        >>> w = Value(2.0)
        >>> (w * w).backward()
        >>> SignDescent([w]).step(); w.data
        1.9
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self._settings().items())
        return f"{type(self).__name__}({len(self.params)} parameters, {settings})"

    def _settings(self) -> dict:
        return {}


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum, as ``torch.optim.SGD``.

    For each parameter, with g its gradient::

        g = g + weight_decay * p
        buf = g                                  (first step)
        buf = momentum * buf + (1 - dampening) * g   (later steps)
        g = g + momentum * buf   if nesterov else   buf      (when momentum != 0)
        p = p - lr * g

    Args:
        params: the Values to train.
        lr: learning rate (default 0.001, as PyTorch).
        momentum: fraction of the previous velocity kept (0 turns momentum off).
        dampening: fraction of the new gradient held back from the velocity.
        weight_decay: L2 penalty coefficient, added to the gradient.
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).

    >>> x = Value(1.0)
    >>> opt = SGD([x], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad(); (x * x).backward(); opt.step()
    >>> round(x.data, 12)      # 1 - 0.1*2 = 0.8, then 0.8 - 0.1*(0.9*2 + 1.6) = 0.46
    0.46
    """

    def __init__(self, params, lr: float = 0.001, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        super().__init__(params)
        self.lr = nonnegative(lr, "lr")
        self.momentum = nonnegative(momentum, "momentum")
        self.dampening = fraction(dampening, "dampening")
        self.weight_decay = nonnegative(weight_decay, "weight_decay")
        if nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ValueError("nesterov momentum needs momentum > 0 and dampening = 0; got "
                             f"momentum={self.momentum}, dampening={self.dampening}")
        self.nesterov = bool(nesterov)
        self._buffers: list[float | None] = [None] * len(self.params)

    def step(self) -> None:
        """Moves every parameter one step against its gradient.

        With momentum the second step is longer than the first: the velocity keeps 0.9 of the
        first gradient (2) and adds the new one (1.6), so ``w`` moves by 0.1 * 3.4 = 0.34
        (plain SGD would move it by 0.16).

        >>> w = Value(1.0)
        >>> opt = SGD([w], lr=0.1, momentum=0.9)
        >>> for _ in range(2):
        ...     opt.zero_grad()
        ...     (w * w).backward()          # d(w^2)/dw = 2w
        ...     opt.step()
        ...     print(round(w.data, 12))
        0.8
        0.46
        """
        lr, momentum = self.lr, self.momentum
        buffers = self._buffers
        for i, p, g in self._gradients():
            if momentum:
                buf = buffers[i]
                # The first step starts the velocity at the gradient itself, not at 0.
                buf = g if buf is None else momentum * buf + (1.0 - self.dampening) * g
                buffers[i] = buf
                g = g + momentum * buf if self.nesterov else buf
            p.data -= lr * g

    def _settings(self) -> dict:
        return {"lr": self.lr, "momentum": self.momentum}


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``: steps scaled by a running RMS of the gradient.

    For each parameter, with g its gradient::

        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g^2           (v starts at 0)
        avg = sqrt(v) + eps
            (centered: ga = alpha * ga + (1 - alpha) * g;  avg = sqrt(max(v - ga^2, 0)) + eps)
        buf = momentum * buf + g / avg;  p = p - lr * buf   (when momentum > 0)
        p = p - lr * g / avg                                (otherwise)

    Args:
        params: the Values to train.
        lr: learning rate (default 0.01).
        alpha: decay of the running mean of squared gradients (default 0.99).
        eps: added to the denominator so it is never 0 (default 1e-8).
        weight_decay: L2 penalty coefficient, added to the gradient.
        momentum: momentum of the scaled step (default 0, none).
        centered: divide by an estimate of the gradient's variance instead of its mean square.

    >>> x = Value(1.0)
    >>> opt = RMSprop([x], lr=0.01)
    >>> (x * x).backward(); opt.step()
    >>> round(x.data, 6)       # 1 - 0.01 * 2 / (sqrt(0.01 * 4) + 1e-8) = 1 - 0.1
    0.9
    """

    def __init__(self, params, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False):
        super().__init__(params)
        self.lr = nonnegative(lr, "lr")
        self.alpha = fraction(alpha, "alpha")
        self.eps = nonnegative(eps, "eps")
        self.weight_decay = nonnegative(weight_decay, "weight_decay")
        self.momentum = nonnegative(momentum, "momentum")
        self.centered = bool(centered)
        n = len(self.params)
        self._square_avg = [0.0] * n
        self._grad_avg = [0.0] * n
        self._buffers = [0.0] * n

    def step(self) -> None:
        """Moves every parameter one RMS-scaled step against its gradient.

        Each gradient is divided by the root of its own running mean square, so a gradient
        50 times larger moves its parameter no further: the first step is
        ``lr / sqrt(1 - alpha) = 0.1`` for both.

        >>> w, u = Value(1.0), Value(1.0)
        >>> opt = RMSprop([w, u], lr=0.01)
        >>> (w * w + 100 * u).backward()    # gradients 2 and 100
        >>> opt.step()
        >>> round(w.data, 6), round(u.data, 6)
        (0.9, 0.9)
        """
        lr, alpha, eps, momentum = self.lr, self.alpha, self.eps, self.momentum
        for i, p, g in self._gradients():
            v = alpha * self._square_avg[i] + (1.0 - alpha) * g * g
            self._square_avg[i] = v
            if self.centered:
                ga = alpha * self._grad_avg[i] + (1.0 - alpha) * g
                self._grad_avg[i] = ga
                # v - ga^2 is a variance, never negative in exact arithmetic; rounding
                # can push it a hair below 0 when the gradient is steady, so clamp it.
                avg = math.sqrt(max(v - ga * ga, 0.0)) + eps
            else:
                avg = math.sqrt(v) + eps
            if momentum > 0.0:
                buf = momentum * self._buffers[i] + g / avg
                self._buffers[i] = buf
                p.data -= lr * buf
            else:
                p.data -= lr * g / avg

    def _settings(self) -> dict:
        return {"lr": self.lr, "alpha": self.alpha}


#: The spelling of earlier microgrant versions, kept so their code keeps running; new code
#: writes PyTorch's `RMSprop`.
RMSProp = RMSprop


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam``: momentum and RMS scaling, corrected for their start at 0.

    For each parameter, with g its gradient and t the step number (1, 2, ...)::

        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g           (running mean of g, starts at 0)
        v = beta2 * v + (1 - beta2) * g^2         (running mean of g^2, starts at 0)
        m_hat = m / (1 - beta1^t);  v_hat = v / (1 - beta2^t)
        p = p - lr * m_hat / (sqrt(v_hat) + eps)

    Without the corrections the first steps would be far too small: m and v start at 0,
    so after one step m = 0.1 g.  Dividing by 1 - beta^t undoes exactly that.

    Args:
        params: the Values to train.
        lr: learning rate (default 0.001).
        betas: decay rates of the two running means (default (0.9, 0.999)).
        eps: added to the denominator so it is never 0 (default 1e-8).
        weight_decay: L2 penalty coefficient, added to the gradient.

    >>> x = Value(1.0)
    >>> opt = Adam([x], lr=0.1)
    >>> (x * x).backward(); opt.step()
    >>> round(x.data, 6)       # the first step has size lr, whatever the gradient's scale
    0.9
    """

    def __init__(self, params, lr: float = 0.001, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params)
        self.lr = nonnegative(lr, "lr")
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise TypeError(f"betas must be a pair (beta1, beta2); got {shown(betas)}") from None
        # beta = 1 would never forget the starting 0, and 1 - beta^t would divide by 0.
        self.betas = (fraction(beta1, "betas[0]", one=False),
                      fraction(beta2, "betas[1]", one=False))
        self.eps = nonnegative(eps, "eps")
        self.weight_decay = nonnegative(weight_decay, "weight_decay")
        n = len(self.params)
        self._m = [0.0] * n
        self._v = [0.0] * n
        self.t = 0

    def step(self) -> None:
        """Moves every parameter one Adam step against its gradient.

        After bias correction the first step is ``lr`` for every parameter, whatever the size
        of its gradient.

        >>> w, u = Value(1.0), Value(1.0)
        >>> opt = Adam([w, u], lr=0.01)
        >>> (w * w + 100 * u).backward()    # gradients 2 and 100
        >>> opt.step()
        >>> round(w.data, 6), round(u.data, 6), opt.t
        (0.99, 0.99, 1)
        """
        self.t += 1
        beta1, beta2 = self.betas
        lr, eps = self.lr, self.eps
        # The corrections are folded into the step size, as PyTorch does (same numbers,
        # fewer divisions): lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
        step_size = lr / (1.0 - beta1 ** self.t)
        root_correction2 = math.sqrt(1.0 - beta2 ** self.t)
        m, v = self._m, self._v
        for i, p, g in self._gradients():
            m[i] = beta1 * m[i] + (1.0 - beta1) * g
            v[i] = beta2 * v[i] + (1.0 - beta2) * g * g
            p.data -= step_size * m[i] / (math.sqrt(v[i]) / root_correction2 + eps)

    def _settings(self) -> dict:
        return {"lr": self.lr, "betas": self.betas}
