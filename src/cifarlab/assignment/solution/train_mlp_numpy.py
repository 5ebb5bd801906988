"""Train the NumPy MLP of mlp_numpy.py on CIFAR-10 with mini-batch SGD.

Defaults are the study's run: one hidden layer of 100 units, LeakyReLU slope 0.02,
learning rate 2e-3, 1500 steps of 200 images, an evaluation every 100 steps.
Curves go to OUT/curves.npz and the final figures to OUT/results.json.
"""

import argparse
import numpy as np

import cifar10_utils
from mlp_numpy import MLP
from modules import CrossEntropyModule, LinearModule


def accuracy(predictions, targets):
    """
    predictions: (batch, n_classes) scores or probabilities; targets: (batch, n_classes)
    one-hot -> the fraction of rows whose largest prediction is the target class (a float).

    TODO: compute the accuracy.
    """
    # PUT YOUR CODE HERE
    fraction = float(np.mean(predictions.argmax(axis=1) == targets.argmax(axis=1)))
    # END OF YOUR CODE
    return fraction


def linear_layers(mlp):
    """Every LinearModule inside `mlp`, wherever the MLP keeps its layers."""
    found, seen, stack = [], set(), [mlp]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, LinearModule):
            found.append(item)
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif hasattr(item, "__dict__") and not isinstance(item, np.ndarray):
            stack.extend(reversed(list(vars(item).values())))
    return found


def sgd_step(mlp, learning_rate):
    """
    One step of plain SGD on every LinearModule of `mlp` (found with linear_layers):
    p <- p - learning_rate * dL/dp for each of its params, using its grads.

    TODO: update the parameters in place.
    """
    # PUT YOUR CODE HERE
    for layer in linear_layers(mlp):
        for name in layer.params:
            layer.params[name] -= learning_rate * layer.grads[name].reshape(layer.params[name].shape)
    # END OF YOUR CODE


def evaluate(mlp, data_set, loss_module, batch_size=1000):
    """(accuracy, mean loss) of `mlp` over a whole data set, in batches."""
    correct, loss = 0.0, 0.0
    for start in range(0, len(data_set.images), batch_size):
        x = data_set.images[start:start + batch_size].reshape(-1, 3072)
        y = data_set.labels[start:start + batch_size]
        probabilities = mlp.forward(x)
        correct += accuracy(probabilities, y) * len(x)
        loss += loss_module.forward(probabilities, y) * len(x)
    return correct / len(data_set.images), loss / len(data_set.images)


def train(flags):
    np.random.seed(flags.seed)
    data = cifar10_utils.get_cifar10(flags.data_dir, seed=flags.seed)
    hidden = [int(size) for size in flags.dnn_hidden_units.split(",") if size]
    mlp = MLP(3072, hidden, 10, flags.neg_slope)
    loss_module = CrossEntropyModule()
    curves = {name: [] for name in ("step", "train_accuracy", "train_loss", "test_accuracy", "test_loss")}
    for step in range(1, flags.max_steps + 1):
        x, y = data["train"].next_batch(flags.batch_size)
        probabilities = mlp.forward(x.reshape(len(x), -1))
        loss = loss_module.forward(probabilities, y)
        mlp.backward(loss_module.backward(probabilities, y))
        sgd_step(mlp, flags.learning_rate)
        if step % flags.eval_freq == 0 or step == flags.max_steps:
            test_accuracy, test_loss = evaluate(mlp, data["test"], loss_module)
            for name, value in zip(curves, (step, accuracy(probabilities, y), loss, test_accuracy, test_loss)):
                curves[name].append(value)
            print(f"step {step:5d}  train loss {loss:.3f}  test accuracy {test_accuracy:.4f}  test loss {test_loss:.3f}")
    cifar10_utils.save_curves(curves, flags.out)
    return curves


def parse_flags(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dnn_hidden_units", default="100", help="hidden sizes, comma-separated (default: 100)")
    parser.add_argument("--learning_rate", type=float, default=2e-3, help="default: 2e-3")
    parser.add_argument("--max_steps", type=int, default=1500, help="default: 1500")
    parser.add_argument("--batch_size", type=int, default=200, help="default: 200")
    parser.add_argument("--eval_freq", type=int, default=100, help="steps between evaluations (default: 100)")
    parser.add_argument("--neg_slope", type=float, default=0.02, help="LeakyReLU slope (default: 0.02)")
    parser.add_argument("--seed", type=int, default=1, help="default: 1")
    parser.add_argument("--data_dir", default="data/cifar10.npz", help="cifar-10-batches-py folder or .npz file")
    parser.add_argument("--out", default="results/mlp_numpy", help="where curves and results go")
    return parser.parse_args(argv)


if __name__ == "__main__":
    train(parse_flags())
