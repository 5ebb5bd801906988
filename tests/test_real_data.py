"""The real shared CIFAR-10 copy: skipped, with the reason, when ../shared/data is absent."""

import numpy as np
import pytest

from cifarlab.data.store import load_cifar10

pytestmark = pytest.mark.realdata


def test_shared_jpeg_copy_has_the_cifar10_counts(real_data_path):
    data = load_cifar10(real_data_path)
    assert data.train_images.shape == (50000, 32, 32, 3) and data.test_images.shape == (10000, 32, 32, 3)
    assert data.classes[:3] == ("airplane", "automobile", "bird") and len(data.classes) == 10
    assert np.bincount(data.train_labels).tolist() == [5000] * 10
    assert np.bincount(data.test_labels).tolist() == [1000] * 10
