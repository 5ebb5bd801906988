"""What each task's check runs: the student's code on one case's inputs -> the values it computes.

Standalone (NumPy, and PyTorch for parts 2-4), like probe.py, which runs these functions
(`probe_<task>(case) -> values` or `(values, variant)`) in the grader's child process and in the
student folder's tests. Nothing here judges: the values go back to the grader.
"""

import importlib
import inspect

import numpy as np

# roles of the ConvNet's parameters, in the study's order (see convnet_parameter)
CONV_WEIGHT, CONV_BIAS, NORM_WEIGHT, NORM_BIAS, LINEAR_WEIGHT, LINEAR_BIAS = range(6)


class Unexpected(Exception):
    """The student's code does not fit the interface (a message for the student)."""


def _student(module_name):
    return importlib.import_module(module_name)


def _accepts(callable_, count):
    """Whether `callable_` takes `count` positional arguments (a variant check, e.g. neg_slope)."""
    try:
        inspect.signature(callable_).bind(*range(count))
        return True
    except TypeError:
        return False
    except ValueError:
        return True


# ---- part 1: NumPy ---------------------------------------------------------------

def _in_layer_layout(layer, array):
    """An (out, in) `array` in the layout the layer stores its weight in ((out, in) or (in, out))."""
    return array if np.shape(layer.params["weight"]) == array.shape else array.T


def _in_case_layout(layer, array, weight_shape):
    """An array in the layer's weight layout, back in the case's (out, in) = `weight_shape`. An
    array not in the layer's layout stays as it is (a gradient must have its parameter's layout)."""
    stored = np.shape(layer.params["weight"])
    return array.T if stored != weight_shape and array.shape == stored else array


def _set_linear(layer, weight, bias):
    """Put (out, in) `weight` and (out,) `bias` into a LinearModule in its own layout."""
    stored = np.shape(layer.params["weight"])
    if stored not in (weight.shape, weight.T.shape):
        raise Unexpected(f"params['weight'] has shape {stored}; (out, in) = {weight.shape} or its transpose "
                         "was expected")
    layer.params["weight"] = _in_layer_layout(layer, weight).copy()
    layer.params["bias"] = bias.reshape(np.shape(layer.params["bias"])).copy()


def _linear_grads(layer, weight_shape):
    """The layer's (dW, db) in the case's layout ((out, in) and (out,))."""
    dW = _in_case_layout(layer, np.asarray(layer.grads["weight"], dtype=np.float64), weight_shape)
    return dW, np.asarray(layer.grads["bias"], dtype=np.float64).reshape(-1)  # (out,), (1, out), (out, 1) alike


def probe_linear(case):
    modules = _student("modules")
    n_out, n_in = case["W"].shape
    layer = modules.LinearModule(n_in, n_out)
    _set_linear(layer, case["W"], case["b"])
    out = layer.forward(case["x"])
    dx = layer.backward(case["dout"])
    dW, db = _linear_grads(layer, case["W"].shape)
    return {"out": out, "dx": dx, "dW": dW, "db": db}


def probe_leaky_relu(case):
    layer = _student("modules").LeakyReLUModule(float(case["slope"]))
    out = layer.forward(case["x"])
    return {"out": out, "dx": layer.backward(case["dout"])}


def probe_softmax(case):
    layer = _student("modules").SoftMaxModule()
    out = layer.forward(case["x"])
    return {"out": out, "dx": layer.backward(case["dout"])}


def _probe_loss(module_class, case):
    loss = module_class()
    value = loss.forward(case["x"], case["y"])
    return {"loss": np.asarray(value, dtype=np.float64), "dx": loss.backward(case["x"], case["y"])}


def probe_cross_entropy(case):
    return _probe_loss(_student("modules").CrossEntropyModule, case)


def probe_softmax_cross_entropy(case):
    return _probe_loss(_student("modules").SoftMaxCrossEntropyModule, case)


def linear_modules(root):
    """Every object under `root` (attributes, lists, dicts) with a params dict holding 'weight'."""
    found, seen, stack = [], set(), [root]
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, (np.ndarray, str, bytes, int, float)):
            continue
        seen.add(id(item))
        if isinstance(getattr(item, "params", None), dict) and "weight" in item.params:
            found.append(item)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif hasattr(item, "__dict__"):
            stack.extend(vars(item).values())
    return found


def _layer_arrays(case, prefix):
    count = sum(1 for name in case if name.startswith(prefix))
    return [case[f"{prefix}{index}"] for index in range(count)]


def _build_mlp(mlp_class, case):
    """-> (mlp_class built for the case's layer sizes, its arguments, whether it takes neg_slope, weights, biases)."""
    weights, biases = _layer_arrays(case, "W_"), _layer_arrays(case, "b_")
    sizes = [weights[0].shape[1]] + [weight.shape[0] for weight in weights]
    takes_slope = _accepts(mlp_class, 4)
    arguments = (sizes[0], sizes[1:-1], sizes[-1]) + ((float(case["slope"]),) if takes_slope else ())
    return mlp_class(*arguments), arguments, takes_slope, weights, biases


def _numpy_mlp(case):
    """The student's NumPy MLP with the case's parameters, and the variant it follows."""
    mlp, arguments, takes_slope, weights, biases = _build_mlp(_student("mlp_numpy").MLP, case)
    layers = linear_modules(mlp)
    if len(layers) != len(weights):
        raise Unexpected(f"MLP{arguments} holds {len(layers)} LinearModules; {len(weights)} were expected")
    for layer in layers:
        index = _matching_layer(np.shape(layer.params["weight"]), weights)
        _set_linear(layer, weights[index], biases[index])
        layer.case_index = index
    return mlp, layers, weights, takes_slope


def _matching_layer(shape, weights):
    for index, weight in enumerate(weights):
        if shape in (weight.shape, weight.T.shape):
            return index
    raise Unexpected(f"a LinearModule's weight has shape {shape}, which fits no layer of the network")


def probe_mlp_numpy(case):
    mlp, layers, weights, takes_slope = _numpy_mlp(case)
    out = np.asarray(mlp.forward(case["x"]))
    # the course's MLP ends in a softmax; one whose loss fuses the softmax returns logits
    is_probability = out.ndim == 2 and bool((out >= 0).all()) and np.allclose(out.sum(axis=1), 1.0)
    dx = mlp.backward(case["dout"])
    values = {"out": out, "dx": dx}
    for layer in layers:
        values[f"dW_{layer.case_index}"], values[f"db_{layer.case_index}"] = _linear_grads(
            layer, weights[layer.case_index].shape)
    return values, {"neg_slope": takes_slope, "output": "probabilities" if is_probability else "logits"}


def probe_sgd_step(case):
    mlp, layers, weights, _ = _numpy_mlp(case)
    for layer in layers:
        index = layer.case_index
        layer.grads["weight"] = _in_layer_layout(layer, case[f"gW_{index}"]).copy()
        layer.grads["bias"] = case[f"gb_{index}"].reshape(np.shape(layer.params["bias"])).copy()
    _student("train_mlp_numpy").sgd_step(mlp, float(case["lr"]))
    values = {}
    for layer in layers:
        index = layer.case_index
        weight = np.asarray(layer.params["weight"], dtype=np.float64)
        values[f"W_{index}"] = _in_case_layout(layer, weight, weights[index].shape)
        values[f"b_{index}"] = np.asarray(layer.params["bias"], dtype=np.float64).reshape(-1)
    return values


def probe_accuracy(case):
    value = _student("train_mlp_numpy").accuracy(case["predictions"], case["targets"])
    return {"accuracy": np.asarray(float(value))}


# ---- parts 2-4: PyTorch ------------------------------------------------------------

def _torch():
    import torch

    return torch


def probe_mlp_pytorch(case):
    torch = _torch()
    model, arguments, takes_slope, weights, biases = _build_mlp(_student("mlp_pytorch").MLP, case)
    linears = [module for module in model.modules() if isinstance(module, torch.nn.Linear)]
    if len(linears) != len(weights):
        raise Unexpected(f"MLP{arguments} holds {len(linears)} nn.Linear layers; {len(weights)} were expected")
    with torch.no_grad():
        for linear in linears:
            index = _matching_layer(tuple(linear.weight.shape), weights)
            linear.weight.copy_(torch.from_numpy(weights[index]))
            linear.bias.copy_(torch.from_numpy(biases[index]))
    model = model.double()
    with torch.no_grad():
        out = model(torch.from_numpy(case["x"]))
    return {"out": out.numpy()}, {"neg_slope": takes_slope}


def _gamma_and_beta(module, n):
    """The module's (gamma, beta): the (n,) parameters initialised to ones and zeros."""
    gamma = beta = None
    for parameter in module.parameters():
        if tuple(parameter.shape) == (n,):
            if bool((parameter == 1).all()) and gamma is None:
                gamma = parameter
            elif bool((parameter == 0).all()) and beta is None:
                beta = parameter
    if gamma is None or beta is None:
        raise Unexpected(f"{type(module).__name__}({n}) should hold two parameters of shape ({n},): gamma "
                         "initialised to ones and beta to zeros")
    return gamma, beta


def _probe_norm_module(class_name, case):
    torch = _torch()
    x = torch.from_numpy(case["x"])
    module = getattr(_student("custom_batchnorm"), class_name)(x.shape[1])
    gamma, beta = _gamma_and_beta(module, x.shape[1])
    with torch.no_grad():
        gamma.copy_(torch.from_numpy(case["gamma"]))
        beta.copy_(torch.from_numpy(case["beta"]))
    module = module.to(x.dtype)  # the same Parameter objects, cast in place
    x.requires_grad_(True)
    out = module(x)
    out.backward(torch.from_numpy(case["dout"]))
    return {"out": out.detach().numpy(), "dx": x.grad.numpy(), "dgamma": _grad(gamma), "dbeta": _grad(beta)}


def _grad(parameter):
    if parameter.grad is None:
        raise Unexpected("a parameter received no gradient")
    return parameter.grad.detach().numpy()


def probe_batchnorm_autograd(case):
    return _probe_norm_module("CustomBatchNormAutograd", case)


def probe_batchnorm_module(case):
    return _probe_norm_module("CustomBatchNormManualModule", case)


def probe_batchnorm_function(case):
    torch = _torch()
    function = _student("custom_batchnorm").CustomBatchNormManualFunction
    input_needs_grad = bool(case["input_needs_grad"])
    x = torch.from_numpy(case["x"]).requires_grad_(input_needs_grad)
    gamma = torch.from_numpy(case["gamma"]).requires_grad_(True)
    beta = torch.from_numpy(case["beta"]).requires_grad_(True)
    out = function.apply(x, gamma, beta, 1e-5)
    out.backward(torch.from_numpy(case["dout"]))
    values = {"out": out.detach().numpy(), "dgamma": _grad(gamma), "dbeta": _grad(beta)}
    if input_needs_grad:
        values["dx"] = x.grad.numpy()
    return values


def convnet_parameter(seed, index, shape, role):
    """The value both sides give the ConvNet's `index`-th parameter: drawn from (seed, index)."""
    draw = np.random.default_rng([int(seed), int(index)]).standard_normal(tuple(shape))
    if role in (CONV_WEIGHT, LINEAR_WEIGHT):
        return draw * np.sqrt(2.0 / np.prod(shape[1:]))
    return 1.0 + 0.1 * draw if role == NORM_WEIGHT else 0.1 * draw


def probe_convnet(case):
    torch = _torch()
    model = _student("convnet_pytorch").ConvNet(3, 10)
    shapes = [tuple(int(size) for size in row if size > 0) for row in case["shapes"]]
    roles = [int(role) for role in case["roles"]]
    wanted = list(range(len(shapes)))
    parameters = list(model.parameters())
    if len(parameters) == len(shapes) - roles.count(CONV_BIAS):
        wanted = [index for index in wanted if roles[index] != CONV_BIAS]  # convs without bias: batch norm cancels it
    if len(parameters) != len(wanted):
        raise Unexpected(f"ConvNet(3, 10) has {len(parameters)} parameter tensors; the study's layers have "
                         f"{len(shapes)} (or {len(shapes) - roles.count(CONV_BIAS)} with bias-free convolutions)")
    with torch.no_grad():
        for position, (parameter, index) in enumerate(zip(parameters, wanted)):
            if tuple(parameter.shape) != shapes[index]:
                raise Unexpected(f"ConvNet's parameter {position} has shape {tuple(parameter.shape)}; the study's "
                                 f"layers need {shapes[index]} there")
            value = convnet_parameter(case["seed"], index, shapes[index], roles[index])
            parameter.copy_(torch.from_numpy(value))
    x = torch.from_numpy(case["x"])
    model = model.to(x.dtype).train()
    with torch.no_grad():
        out = model(x)
    return {"out": out.numpy()}
