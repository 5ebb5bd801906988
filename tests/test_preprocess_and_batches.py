"""Standardisation, views, hold-out split, batch order and augmentation."""

import numpy as np
import pytest
import torch

from cifarlab.data.augment import colour_jitter, random_crop, random_flip
from cifarlab.data.batches import BatchSchedule, chunks
from cifarlab.data.preprocess import channel_stats, hold_out, prepare, standardize
from cifarlab.errors import CifarlabError


def test_channel_stats_match_numpy(tiny):
    mean, std = channel_stats(tiny.train_images)
    pixels = tiny.train_images.reshape(-1, 3) / 255.0
    np.testing.assert_allclose(mean, pixels.mean(0), rtol=1e-5)
    np.testing.assert_allclose(std, pixels.std(0), rtol=1e-5)


def test_prepare_standardises_with_training_statistics_only(tiny):
    prepared = prepare(tiny, "flat")
    assert prepared.train.x.dtype == np.float32 and prepared.train.x.shape == (50, 3072)
    per_channel = prepared.train.x.reshape(-1, 32, 32, 3).reshape(-1, 3)
    np.testing.assert_allclose(per_channel.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(per_channel.std(0), 1, atol=1e-4)
    mean, std = channel_stats(tiny.train_images)
    np.testing.assert_allclose(prepared.test.x[0, :3], (tiny.test_images[0, 0, 0] / 255.0 - mean) / std, rtol=1e-5)


@pytest.mark.parametrize("channel_axis", [-1, 1])
def test_standardize_is_the_float32_formula_to_the_last_bit(channel_axis):
    """Every byte value in every channel, in both layouts, and from a read-only array (the
    cache's memory maps): saved runs are evaluated again on these values."""
    every_value = np.stack([np.roll(np.arange(256, dtype=np.uint8), 85 * c) for c in range(3)], axis=-1)
    images = every_value.reshape(4, 8, 8, 3)  # (N, H, W, C)
    if channel_axis == 1:
        images = np.ascontiguousarray(images.transpose(0, 3, 1, 2))
    images.flags.writeable = False
    mean, std = np.array([0.49, 0.48, 0.45], np.float32), np.array([0.25, 0.24, 0.26], np.float32)
    shape = (1, 3, 1, 1) if channel_axis == 1 else (1, 1, 1, 3)
    expected = (images.astype(np.float32) / np.float32(255) - mean.reshape(shape)) / std.reshape(shape)
    got = standardize(images, mean, std, channel_axis=channel_axis)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)


def test_nchw_view_puts_channels_first(tiny):
    prepared = prepare(tiny, "nchw")
    flat = prepare(tiny, "flat")
    assert prepared.train.x.shape == (50, 3, 32, 32)
    np.testing.assert_array_equal(prepared.train.x[3, :, 5, 7], flat.train.x[3].reshape(32, 32, 3)[5, 7])


@pytest.mark.parametrize("pipeline", ["standardize", "course"])
def test_both_layouts_hold_the_same_values(tiny, pipeline):
    """The ConvNet layout normalises bytes already transposed: the values must not change."""
    nchw, flat = prepare(tiny, "nchw", pipeline=pipeline), prepare(tiny, "flat", pipeline=pipeline)
    np.testing.assert_array_equal(nchw.test.x, flat.test.x.reshape(-1, 32, 32, 3).transpose(0, 3, 1, 2))


def test_validation_split_is_disjoint_and_seeded(tiny):
    (kept_x, kept_y), (held_x, held_y) = hold_out(tiny.train_images, tiny.train_labels, 10, seed=5)
    assert len(held_y) == 10 and len(kept_y) == 40
    again = hold_out(tiny.train_images, tiny.train_labels, 10, seed=5)[1][0]
    np.testing.assert_array_equal(held_x, again)
    seen = {img.tobytes() for img in kept_x}
    assert not any(img.tobytes() in seen for img in held_x)


def test_validation_statistics_are_excluded(tiny):
    prepared = prepare(tiny, "flat", val_size=10, seed=0)
    assert len(prepared.val.y) == 10 and len(prepared.train.y) == 40
    (kept_x, _), _ = hold_out(tiny.train_images, tiny.train_labels, 10, seed=0)
    np.testing.assert_allclose(prepared.normalization.mean, channel_stats(kept_x)[0])


def test_course_pipeline_subtracts_the_per_pixel_mean_image_on_the_raw_scale():
    from cifarlab.data.sources import CifarData

    train = np.zeros((2, 2, 2, 3), np.uint8)
    train[0, 0, 0] = (10, 20, 30)  # pixel (0, 0) of image 0; image 1 is black: mean image there (5, 10, 15)
    train[1, 1, 1] = (255, 0, 1)
    test = np.full((1, 2, 2, 3), 7, np.uint8)
    data = CifarData(train, np.array([0, 1]), test, np.array([1]), ("a", "b"), "tiny")
    prepared = prepare(data, "nchw", pipeline="course")
    expected_mean = np.zeros((2, 2, 3), np.float32)
    expected_mean[0, 0] = (5, 10, 15)
    expected_mean[1, 1] = (127.5, 0, 0.5)
    np.testing.assert_array_equal(prepared.normalization.mean, expected_mean)
    np.testing.assert_array_equal(prepared.train.x[0, :, 0, 0], [5, 10, 15])  # 10 - 5, 20 - 10, 30 - 15
    np.testing.assert_array_equal(prepared.train.x[1, :, 1, 1], [127.5, 0, 0.5])
    # the test set is centred with the training set's mean image, not its own
    np.testing.assert_array_equal(prepared.test.x[0].transpose(1, 2, 0), 7 - expected_mean)


def test_course_pipeline_takes_the_mean_image_without_the_validation_part(tiny):
    prepared = prepare(tiny, "flat", val_size=10, seed=0, pipeline="course")
    (kept_x, _), _ = hold_out(tiny.train_images, tiny.train_labels, 10, seed=0)
    np.testing.assert_allclose(prepared.normalization.mean, kept_x.astype(np.float64).mean(axis=0), rtol=1e-6)
    assert prepared.normalization.std is None and prepared.train.x.dtype == np.float32


def test_bad_validation_size_is_a_user_error(tiny):
    with pytest.raises(CifarlabError, match="validation size"):
        prepare(tiny, "flat", val_size=50)


def test_batches_cover_each_epoch_exactly_once():
    schedule = BatchSchedule(n=20, batch_size=5, seed=0)
    epoch = np.concatenate([schedule(step) for step in range(4)])
    assert sorted(epoch) == list(range(20))


def test_batches_reshuffle_between_epochs():
    schedule = BatchSchedule(n=20, batch_size=5, seed=0)
    assert not np.array_equal(schedule(0), schedule(4))


def test_batches_are_a_function_of_seed_and_step():
    first, second = BatchSchedule(100, 8, seed=3), BatchSchedule(100, 8, seed=3)
    order = [first(s) for s in range(30)]
    np.testing.assert_array_equal(order[25], second(25))  # jumping straight to a step (resume)
    assert not np.array_equal(BatchSchedule(100, 8, seed=4)(0), order[0])


def test_incomplete_last_batch_is_dropped():
    schedule = BatchSchedule(n=10, batch_size=4, seed=0)
    assert schedule.steps_per_epoch == 2
    assert all(len(schedule(s)) == 4 for s in range(6))


def test_batch_size_larger_than_data_is_a_user_error():
    with pytest.raises(CifarlabError, match="batch size"):
        BatchSchedule(n=10, batch_size=11, seed=0)


def test_chunks_cover_range():
    assert [(s.start, s.stop) for s in chunks(10, 4)] == [(0, 4), (4, 8), (8, 10)]


def test_flip_mirrors_about_half_the_images():
    images = torch.arange(2 * 1 * 2 * 3, dtype=torch.float32).reshape(2, 1, 2, 3).repeat(50, 1, 1, 1)
    flipped = random_flip(images, torch.Generator().manual_seed(0))
    mirrored = (flipped == images.flip(-1)).all(dim=(1, 2, 3))
    unchanged = (flipped == images).all(dim=(1, 2, 3))
    assert bool((mirrored | unchanged).all()) and 20 < int(mirrored.sum()) < 80


def test_crop_is_a_shifted_window_of_the_reflect_padded_image():
    images = torch.randn(16, 3, 8, 8)
    cropped = random_crop(images, 2, torch.Generator().manual_seed(1))
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2), mode="reflect")
    assert cropped.shape == images.shape
    for i in range(16):
        windows = [padded[i, :, r:r + 8, c:c + 8] for r in range(5) for c in range(5)]
        assert any(torch.equal(cropped[i], w) for w in windows)



def test_small_crop_is_a_smaller_window_anywhere_in_the_padded_image():
    images = torch.randn(64, 3, 8, 8)
    cropped = random_crop(images, 1, torch.Generator().manual_seed(2), size=5)
    padded = torch.nn.functional.pad(images, (1, 1, 1, 1), mode="reflect")
    assert cropped.shape == (64, 3, 5, 5)
    found = set()
    for i in range(64):
        matches = [(r, c) for r in range(6) for c in range(6) if torch.equal(cropped[i], padded[i, :, r:r + 5, c:c + 5])]
        assert matches
        found.update(matches)
    assert {0, 5} <= {r for r, _ in found}  # the extreme offsets are reachable


def test_unchanged_size_draws_the_same_windows_as_before():
    """`size` equal to the image is the plain translate: same draws, same result."""
    images = torch.randn(16, 3, 8, 8)
    plain = random_crop(images, 2, torch.Generator().manual_seed(3))
    sized = random_crop(images, 2, torch.Generator().manual_seed(3), size=8)
    torch.testing.assert_close(plain, sized)


@pytest.mark.parametrize("shape, size", [((2, 3, 8, 8), 9), ((2, 3, 8, 6), 5)])
def test_crop_larger_than_the_image_or_of_a_non_square_image_is_refused(shape, size):
    with pytest.raises(ValueError, match="crop"):
        random_crop(torch.zeros(shape), 1, size=size)


def test_brightness_shifts_each_image_by_one_offset_within_its_range():
    images = torch.randn(200, 3, 4, 4)
    shifted = colour_jitter(images, brightness=0.3, contrast=0.0, generator=torch.Generator().manual_seed(0))
    offsets = shifted - images
    per_image = offsets[:, 0, 0, 0]
    torch.testing.assert_close(offsets, per_image[:, None, None, None].expand_as(offsets))
    assert float(per_image.abs().max()) <= 0.3 and float(per_image.min()) < -0.2 and float(per_image.max()) > 0.2


def test_contrast_scales_each_image_about_its_own_mean():
    images = torch.randn(200, 3, 4, 4)
    scaled = colour_jitter(images, brightness=0.0, contrast=0.5, generator=torch.Generator().manual_seed(1))
    means = images.mean(dim=(1, 2, 3), keepdim=True)
    torch.testing.assert_close(scaled.mean(dim=(1, 2, 3), keepdim=True), means)
    factors = ((scaled - means) / (images - means))[:, 0, 0, 0]
    torch.testing.assert_close((scaled - means), (images - means) * factors[:, None, None, None])
    assert float(factors.min()) >= 0.5 and float(factors.max()) <= 1.5 and float(factors.max() - factors.min()) > 0.7


def test_colour_jitter_repeats_with_its_seed_and_leaves_images_alone_at_zero():
    images = torch.randn(8, 3, 4, 4)
    first = colour_jitter(images, 0.1, 0.1, torch.Generator().manual_seed(2))
    torch.testing.assert_close(first, colour_jitter(images, 0.1, 0.1, torch.Generator().manual_seed(2)))
    generator = torch.Generator().manual_seed(3)
    assert colour_jitter(images, 0.0, 0.0, generator) is images
    assert torch.equal(torch.rand(1, generator=generator), torch.rand(1, generator=torch.Generator().manual_seed(3)))


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_device_rows_gather_the_rows_a_numpy_index_names(device):
    from cifarlab.data.transfer import DeviceRows, to_device_async

    table = torch.arange(12.0).reshape(6, 2).to(device)
    rows = DeviceRows(table)
    assert len(rows) == 6
    torch.testing.assert_close(rows[np.array([4, 0, 4])].cpu(), torch.tensor([[8.0, 9.0], [0.0, 1.0], [8.0, 9.0]]))
    moved = to_device_async(torch.tensor([3, 1]), device)
    assert moved.device.type == device and moved.tolist() == [3, 1]
