"""The study's published figures (SPEC.md), to print beside the measured ones."""

STUDY_TABLES = {
    "Table 1: NumPy MLP (study part 1)": {"test_accuracy": 0.5457, "test_loss": 1.366,
                                          "train_accuracy": 0.834, "train_loss": 0.567},
    "Table 2: best PyTorch MLP (study part 2)": {"test_accuracy": 0.5583, "test_loss": 1.334,
                                                 "train_accuracy": 0.7351, "train_loss": 0.751},
    "Table 3: VGG-like ConvNet (study part 4)": {"test_accuracy": 0.7775, "test_loss": 0.676,
                                                 "train_accuracy": 0.8456, "train_loss": 0.452},
}

STUDY_NOTES = {
    "Table 1: NumPy MLP (study part 1)": "The study evaluated its test side on a batch of 200 images; "
                                          "cifarlab evaluates on all 10,000.",
}
