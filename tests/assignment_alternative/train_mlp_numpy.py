import numpy as np


def accuracy(predictions, targets):
    hits = 0
    for prediction, target in zip(predictions, targets):
        hits += int(np.argmax(prediction) == np.argmax(target))
    return hits / len(targets)


def sgd_step(mlp, learning_rate):
    for layer in mlp.linears + [mlp.output_layer]:
        layer.params["weight"] = layer.params["weight"] - learning_rate * layer.grads["weight"]
        layer.params["bias"] = layer.params["bias"] - learning_rate * layer.grads["bias"]
