"""Run a student's code on given inputs and save what it computes; judge nothing.

Standalone (NumPy, and PyTorch for parts 2-4): the grader runs this file in a subprocess,
    python -I probe.py [--reference SOLUTION_DIR] SUBMISSION_DIR CASES.npz RESULTS_DIR TASK [TASK ...]
and compares the saved values with its own in its own process, so nothing a submission
prints or patches here can change a score. The student folder's tests import it too.

For each task it writes RESULTS_DIR/TASK.json (status: "ran", "not_started" or "error",
a message, the variant the code follows) and RESULTS_DIR/TASK.npz (the values), and
before each task RESULTS_DIR/started (the task's id), so the grader knows which task
was running if the process dies or hangs.
"""

import contextlib
import importlib
import importlib.util
import inspect
import json
import os
import sys
import traceback

import numpy as np

# roles of the ConvNet's parameters, in the study's order (see convnet_parameter)
CONV_WEIGHT, CONV_BIAS, NORM_WEIGHT, NORM_BIAS, LINEAR_WEIGHT, LINEAR_BIAS = range(6)


class NotStarted(Exception):
    """The student's code raised NotImplementedError: the blank is still empty."""


class Unexpected(Exception):
    """The student's code does not fit the interface (a message for the student)."""


# ---- reading the cases file: keys "task/case/name" ----------------------------------

def cases_of(arrays, task):
    """{case name: {input name: array}} of one task, in the file's order."""
    cases = {}
    for key in arrays.files:
        task_id, case, name = key.split("/")
        if task_id == task:
            cases.setdefault(case, {})[name] = arrays[key]
    return cases


def _student(module_name):
    return importlib.import_module(module_name)


# Tasks built on the code of other tasks. Given a reference folder (the grader's own solution),
# the parts they build on are the reference's, so that one mistake costs only the task it is in;
# without one (the student folder's pytest) they use the student's own parts.
BUILT_ON = {"mlp_numpy": "modules.py", "sgd_step": "modules.py", "batchnorm_module": "custom_batchnorm.py"}


def _load_file(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def reference_parts(task, reference):
    """Within the block, `task` builds on the reference's parts (see BUILT_ON)."""
    if reference is None or task not in BUILT_ON:
        yield
        return
    names = ("modules", "mlp_numpy", "train_mlp_numpy")
    saved = {name: sys.modules.pop(name) for name in names if name in sys.modules}
    student_batchnorm = None
    try:
        if BUILT_ON[task] == "modules.py":  # the student's MLP imports `modules`: give it the reference's
            sys.modules["modules"] = _load_file("modules", os.path.join(reference, "modules.py"))
        else:  # the student's module calls CustomBatchNormManualFunction by name: give it the reference's
            student_batchnorm = _student("custom_batchnorm")
            original = student_batchnorm.CustomBatchNormManualFunction
            reference_batchnorm = _load_file("reference_batchnorm", os.path.join(reference, "custom_batchnorm.py"))
            student_batchnorm.CustomBatchNormManualFunction = reference_batchnorm.CustomBatchNormManualFunction
        yield
    finally:
        if student_batchnorm is not None:
            student_batchnorm.CustomBatchNormManualFunction = original
        for name in names:
            sys.modules.pop(name, None)
        sys.modules.update(saved)


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

def _set_linear(layer, weight, bias):
    """Put (out, in) `weight` and (out,) `bias` into a LinearModule in its own layout."""
    stored = np.asarray(layer.params["weight"])
    if stored.shape == weight.shape:
        layer.params["weight"] = weight.copy()
    elif stored.shape == weight.T.shape:
        layer.params["weight"] = weight.T.copy()
    else:
        raise Unexpected(f"params['weight'] has shape {stored.shape}; (out, in) = {weight.shape} or its transpose "
                         "was expected")
    layer.params["bias"] = bias.reshape(np.shape(layer.params["bias"])).copy()


def _linear_grads(layer, weight_shape):
    """The layer's (dW, db) in the case's layout ((out, in) and (out,)): a gradient must have its
    own parameter's layout, so a layer that stores its weight as (in, out) gives dW as (in, out)."""
    stored, dW = np.shape(layer.params["weight"]), np.asarray(layer.grads["weight"], dtype=np.float64)
    if stored != weight_shape and dW.shape == stored:
        dW = dW.T
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
        layer.grads["weight"] = case[f"gW_{index}"].copy()
        if np.shape(layer.params["weight"]) != weights[index].shape:
            layer.grads["weight"] = case[f"gW_{index}"].T.copy()
        layer.grads["bias"] = case[f"gb_{index}"].reshape(np.shape(layer.params["bias"])).copy()
    _student("train_mlp_numpy").sgd_step(mlp, float(case["lr"]))
    values = {}
    for layer in layers:
        index = layer.case_index
        weight = np.asarray(layer.params["weight"], dtype=np.float64)
        values[f"W_{index}"] = weight if weight.shape == weights[index].shape else weight.T
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


# ---- running tasks ---------------------------------------------------------------

PROBES = {name[len("probe_"):]: function for name, function in globals().items() if name.startswith("probe_")}


def _where(error):
    """'file.py:12' of the innermost frame in the submission's own files, if any."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if os.path.basename(frame.filename) != "probe.py"
              and os.path.abspath(frame.filename).startswith(os.getcwd() + os.sep)]
    return f" ({os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""


def _raised_in(error):
    """'LinearModule.forward': the function that raised `error`."""
    innermost = error.__traceback__
    while innermost.tb_next is not None:
        innermost = innermost.tb_next
    return innermost.tb_frame.f_code.co_qualname


def run_task(task, cases, reference=None):
    """Run one task's probe on all its cases -> (status, message, values, variant).
    `reference`: a folder of the solution's files for the parts a task builds on (BUILT_ON)."""
    values, variant = {}, {}
    try:
        with reference_parts(task, reference):
            for case_name, inputs in cases.items():
                result = PROBES[task](dict(inputs))
                if isinstance(result, tuple):
                    result, variant = result
                for name, value in result.items():
                    values[f"{case_name}/{name}"] = np.asarray(value)
    except NotImplementedError as error:
        return "not_started", f"{_raised_in(error)} raises NotImplementedError", {}, variant
    except Unexpected as error:
        return "error", str(error), {}, variant
    except (Exception, SystemExit) as error:  # the student's code: any failure is reported, not raised
        text = f"{type(error).__name__}: {error}"
        return "error", (text[:300] + " ...") if len(text) > 300 else text + _where(error), {}, variant
    return "ran", "", values, variant


def _write_atomically(path, write):
    temporary = path + ".tmp"
    write(temporary)
    os.replace(temporary, path)


def save_result(results_dir, task, status, message, values, variant):
    def write_json(path):
        with open(path, "w") as file:
            json.dump({"status": status, "message": message, "variant": variant}, file)

    def write_npz(path):
        with open(path, "wb") as file:
            np.savez(file, **{key.replace("/", "|"): value for key, value in values.items()})

    _write_atomically(os.path.join(results_dir, f"{task}.npz"), write_npz)
    _write_atomically(os.path.join(results_dir, f"{task}.json"), write_json)


class _NoCifarlab:
    """An import hook refusing cifarlab: a submission computes its own values (a speed bump, not a wall)."""

    def find_spec(self, name, path=None, target=None):
        if name == "cifarlab" or name.startswith("cifarlab."):
            raise ImportError("cifarlab cannot be imported by a submission")
        return None


def main(argv):
    reference = None
    if argv[0] == "--reference":
        reference, argv = os.path.abspath(argv[1]), argv[2:]
    submission, cases_file, results_dir, *tasks = argv
    submission, results_dir = os.path.abspath(submission), os.path.abspath(results_dir)
    sys.meta_path.insert(0, _NoCifarlab())
    sys.path.insert(0, submission)
    os.chdir(submission)
    with np.load(cases_file) as arrays:
        all_cases = {task: cases_of(arrays, task) for task in tasks}
    for task in tasks:
        _write_atomically(os.path.join(results_dir, "started"), lambda path: open(path, "w").write(task))
        save_result(results_dir, task, *run_task(task, all_cases[task], reference))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
