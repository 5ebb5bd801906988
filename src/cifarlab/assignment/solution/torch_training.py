"""The training loop and flags shared by train_mlp_pytorch.py and train_convnet_pytorch.py."""

import torch
import torch.nn as nn

import cifar10_utils


@torch.no_grad()
def evaluate(model, data_set, flatten, batch_size=500):
    """(accuracy, mean loss) of `model` over a whole data set, in batches."""
    model.eval()
    correct, loss = 0.0, 0.0
    for start in range(0, len(data_set.images), batch_size):
        x = torch.from_numpy(data_set.images[start:start + batch_size])
        y = data_set.labels[start:start + batch_size]
        logits = model(x.flatten(1) if flatten else x)
        labels = torch.from_numpy(y.argmax(axis=1))
        correct += (logits.argmax(dim=1) == labels).sum().item()
        loss += nn.functional.cross_entropy(logits, labels).item() * len(x)
    model.train()
    return correct / len(data_set.images), loss / len(data_set.images)


def run_training(model, flags, flatten):
    """Train `model` with flags.optimizer for flags.max_steps; evaluate every flags.eval_freq steps."""
    data = cifar10_utils.get_cifar10(flags.data_dir, seed=flags.seed)
    optimizers = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}
    optimizer = optimizers[flags.optimizer](model.parameters(), lr=flags.learning_rate)
    curves = {name: [] for name in ("step", "train_accuracy", "train_loss", "test_accuracy", "test_loss")}
    for step in range(1, flags.max_steps + 1):
        x, y = data["train"].next_batch(flags.batch_size)
        x = torch.from_numpy(x)
        logits = model(x.flatten(1) if flatten else x)
        labels = torch.from_numpy(y.argmax(axis=1))
        loss = nn.functional.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % flags.eval_freq == 0 or step == flags.max_steps:
            test_accuracy, test_loss = evaluate(model, data["test"], flatten)
            train_accuracy = (logits.argmax(dim=1) == labels).float().mean().item()
            row = (step, train_accuracy, loss.item(), test_accuracy, test_loss)
            for name, value in zip(curves, row):
                curves[name].append(value)
            print(f"step {step:5d}  train loss {loss.item():.3f}  test accuracy {test_accuracy:.4f}")
    cifar10_utils.save_curves(curves, flags.out)
    return curves


def add_common_flags(parser, learning_rate, steps, batch_size, eval_freq, optimizer, out):
    parser.add_argument("--learning_rate", type=float, default=learning_rate, help=f"default: {learning_rate}")
    parser.add_argument("--max_steps", type=int, default=steps, help=f"default: {steps}")
    parser.add_argument("--batch_size", type=int, default=batch_size, help=f"default: {batch_size}")
    parser.add_argument("--eval_freq", type=int, default=eval_freq, help=f"steps between evaluations (default: {eval_freq})")
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default=optimizer, help=f"default: {optimizer}")
    parser.add_argument("--seed", type=int, default=1, help="default: 1")
    parser.add_argument("--data_dir", default="data/cifar10.npz", help="cifar-10-batches-py folder or .npz file")
    parser.add_argument("--out", default=out, help="where curves and results go")
