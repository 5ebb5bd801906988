"""What each case should give, computed by cifarlab's own engine in the caller's process.

The NumPy tasks run through numpy_nn (whose gradients the test suite checks against finite
differences), the PyTorch tasks through torch_nn, all in float64 except the float32 cases.
Returns the same "case/name" keys as the probe's values.
"""

from __future__ import annotations

import numpy as np

from cifarlab.assignment.probe import cases_of
from cifarlab.assignment.probe_tasks import convnet_parameter
from cifarlab.numpy_nn import CrossEntropy, LeakyReLU, Linear, Sequential, Softmax, SoftmaxCrossEntropy
from cifarlab.numpy_nn.optim import SGD


def _engine_linear(weight, bias):
    layer = Linear(weight.shape[1], weight.shape[0], np.random.default_rng(0), dtype=np.float64)
    layer.params["weight"][...], layer.params["bias"][...] = weight, bias
    return layer


def linear(case, variant):
    layer = _engine_linear(case["W"], case["b"])
    out = layer.forward(case["x"])
    dx = layer.backward(case["dout"])
    return {"out": out, "dx": dx, "dW": layer.grads["weight"], "db": layer.grads["bias"]}


def _module_values(module, case):
    out = module.forward(case["x"])
    return {"out": out, "dx": module.backward(case["dout"])}


def leaky_relu(case, variant):
    return _module_values(LeakyReLU(float(case["slope"])), case)


def softmax(case, variant):
    return _module_values(Softmax(), case)


def _loss_values(loss, case):
    labels = case["y"].argmax(axis=1)
    return {"loss": np.asarray(loss.forward(case["x"], labels)), "dx": loss.backward()}


def cross_entropy(case, variant):
    """The course's form on probabilities; the alternative {"loss_input": "logits"} reads the same
    inputs as logits, as a CrossEntropyModule with the softmax fused in does."""
    return _loss_values(SoftmaxCrossEntropy() if variant.get("loss_input") == "logits" else CrossEntropy(), case)


def softmax_cross_entropy(case, variant):
    return _loss_values(SoftmaxCrossEntropy(), case)


def _layers(case):
    count = sum(1 for name in case if name.startswith("W_"))
    return [(case[f"W_{index}"], case[f"b_{index}"]) for index in range(count)]


def _slope(case, variant):
    """The network's LeakyReLU slope: the case's, or 0 (ReLU) for an MLP without neg_slope."""
    return float(case["slope"]) if variant.get("neg_slope", True) else 0.0


def _engine_mlp(case, variant):
    """The course's MLP in the engine: Linear -> LeakyReLU ... Linear -> Softmax. Variants: an
    MLP without a neg_slope argument is the spring edition's, with ReLU; one that returns logits
    (its loss fuses the softmax) ends at the last Linear."""
    modules = []
    for weight, bias in _layers(case):
        modules += [_engine_linear(weight, bias), LeakyReLU(_slope(case, variant))]
    modules[-1] = Softmax()
    if variant.get("output") == "logits":
        modules.pop()
    return Sequential(*modules)


def mlp_numpy(case, variant):
    network = _engine_mlp(case, variant)
    values = _module_values(network, case)
    for index in range(len(_layers(case))):
        values[f"dW_{index}"] = network.modules[2 * index].grads["weight"]
        values[f"db_{index}"] = network.modules[2 * index].grads["bias"]
    return values


def sgd_step(case, variant):
    params = {name: case[name].copy() for name in case if name[:2] in ("W_", "b_")}
    SGD(float(case["lr"])).step(params, {name: case["g" + name] for name in params})
    return params


def accuracy(case, variant):
    return {"accuracy": np.asarray(np.mean(case["predictions"].argmax(axis=1) == case["targets"].argmax(axis=1)))}


def mlp_pytorch(case, variant):
    import torch

    from cifarlab.torch_nn.mlp import MLP

    layers = _layers(case)
    hidden = tuple(weight.shape[0] for weight, _ in layers[:-1])
    model = MLP(layers[0][0].shape[1], hidden, layers[-1][0].shape[0], neg_slope=_slope(case, variant)).double()
    linears = [module for module in model.modules() if isinstance(module, torch.nn.Linear)]
    with torch.no_grad():
        for module, (weight, bias) in zip(linears, layers):
            module.weight.copy_(torch.from_numpy(weight))
            module.bias.copy_(torch.from_numpy(bias))
        return {"out": model(torch.from_numpy(case["x"])).numpy()}


def _batchnorm(case, variant):
    """Through cifarlab's BatchNormFunction (SPEC part 3), gradients by its hand-written backward."""
    import torch

    from cifarlab.torch_nn.batchnorm import BatchNormFunction

    input_needs_grad = bool(case["input_needs_grad"])
    x = torch.from_numpy(case["x"]).requires_grad_(input_needs_grad)
    gamma = torch.from_numpy(case["gamma"]).requires_grad_(True)
    beta = torch.from_numpy(case["beta"]).requires_grad_(True)
    out = BatchNormFunction.apply(x, gamma, beta, 1e-5)
    out.backward(torch.from_numpy(case["dout"]))
    values = {"out": out.detach().numpy(), "dgamma": gamma.grad.numpy(), "dbeta": beta.grad.numpy()}
    if input_needs_grad:
        values["dx"] = x.grad.numpy()
    return values


batchnorm_autograd = batchnorm_function = batchnorm_module = _batchnorm


def convnet(case, variant):
    """cifarlab's ConvNet with the case's parameters, in training mode (batch statistics), in
    float32: its 9 million parameters make float64 twice as slow, and the 1e-4 tolerance of
    float32 still tells a missing layer or a wrong pooling apart by orders of magnitude."""
    import torch

    from cifarlab.torch_nn.convnet import ConvNet

    x = torch.from_numpy(case["x"])
    model = ConvNet(10).to(x.dtype).train()
    with torch.no_grad():
        for index, parameter in enumerate(model.parameters()):
            shape = tuple(int(size) for size in case["shapes"][index] if size > 0)
            parameter.copy_(torch.from_numpy(convnet_parameter(case["seed"], index, shape, int(case["roles"][index]))))
        return {"out": model(x).numpy()}


def expected_values(task: str, cases_file_arrays, variant: dict) -> dict[str, np.ndarray]:
    """{"case/name": expected array} for every case of `task` in an opened cases .npz."""
    compute = globals()[task]
    values = {}
    for case_name, case in cases_of(cases_file_arrays, task).items():
        for name, value in compute(case, variant).items():
            values[f"{case_name}/{name}"] = np.asarray(value)
    return values
