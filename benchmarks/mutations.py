"""Do the tests catch a broken feature? Break one feature at a time (a one-line change in
src/), run the test that should catch it, restore the file, and say whether it failed.

    python benchmarks/mutations.py ["mutation name" ...]

Run it on a clean work tree (it rewrites files in src/ and puts them back).
"""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
MUTATIONS = [
    ("presets ignored", "src/cifarlab/training/resolve.py", "layers = [entry.presets[preset] if preset else {},", "layers = [{},",
     "tests/test_fastnet.py::test_presets_are_offered_and_explicit_options_win"),
    ("batch-norm form ignored", "src/cifarlab/torch_nn/mlp.py", "layers.append(BATCH_NORMS_1D[batch_norm](fan_out))", "layers.append(nn.BatchNorm1d(fan_out))",
     "tests/test_cli_train_torch.py::test_mlp_trains_with_each_batch_norm_form"),
    ("npy curves stale", "src/cifarlab/rundir/files.py", 'atomic_save_npy(run_dir / f"{name}.npy", np.asarray(getattr(history, name), dtype=np.float64))', 'atomic_save_npy(run_dir / f"{name}.npy", np.asarray(getattr(history, name)[:1], dtype=np.float64))',
     "tests/test_cli_train_torch.py::test_torch_run_directory_matches_the_numpy_one_and_evaluates_exactly"),
    ("course pipeline without the mean", "src/cifarlab/training/run.py", "atomic_save_npy(run_dir / MEAN_IMAGE_FILE, normalization.mean)", "atomic_save_npy(run_dir / MEAN_IMAGE_FILE, normalization.mean * 0)",
     "tests/test_run_plumbing.py::test_the_study_models_prepare_their_inputs_the_course_way"),
    ("resume loses the torch RNG", "src/cifarlab/training/torch_learner.py", 'torch.set_rng_state(state["torch_rng"].cpu())', 'pass',
     "tests/test_run_plumbing.py::test_a_killed_run_resumes_with_another_thread_count_to_the_same_result"),
    ("cosine is linear", "src/cifarlab/training/schedules.py", "return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))", "return base_lr * (1.0 - progress)",
     "tests/test_recipe_options.py::test_cosine_schedule_falls_from_the_peak_to_zero_after_warm_up"),
    ("step schedule off", "src/cifarlab/training/schedules.py", "return base_lr * (0.1 ** ((progress >= 0.5) + (progress >= 0.75)))", "return base_lr * (0.1 ** (progress >= 0.5))",
     "tests/test_recipe_options.py::test_step_schedule_divides_by_ten_at_half_and_three_quarters"),
    ("adamw is adam", "src/cifarlab/training/optimizers.py", 'adam = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.AdamW', "adam = torch.optim.Adam",
     "tests/test_recipe_options.py::test_adamw_decays_the_weights_apart_from_the_gradient"),
    ("label smoothing ignored", "src/cifarlab/training/fastnet/recipe.py", "return F.cross_entropy(logits, targets, label_smoothing=self.cfg.label_smoothing)", "return F.cross_entropy(logits, targets)",
     "tests/test_recipe_options.py::test_label_smoothing_mixes_the_target_with_a_uniform_distribution"),
    ("dropout not seeded", "src/cifarlab/training/run.py", "    torch.manual_seed(seed)\n", "    torch.seed()\n",
     "tests/test_recipe_options.py::test_dropout_masks_follow_the_seed"),
    ("val hold-out not evaluated", "src/cifarlab/training/loop.py", '        metrics["val"] = learner.evaluate(data.val.x, data.val.y)', "        pass",
     "tests/test_recipe_options.py::test_a_validation_hold_out_is_measured_and_kept_out_of_training"),
    ("compile guard gone", "src/cifarlab/training/torch_learner.py", 'if runtime.compile and device_type == "cuda" and dtype is not None:', "if False:",
     "tests/test_recipe_options.py::test_compile_is_refused_under_autocast_on_cuda_only"),
    ("fp16 kept on the CPU", "src/cifarlab/training/runtime.py", 'runtime = dataclasses.replace(runtime, precision="fp32")', "pass",
     "tests/test_recipe_options.py::test_an_fp16_run_reloads_in_fp32_where_there_is_no_cuda"),
    ("no tolerance across devices", "src/cifarlab/inference/reload.py", "OTHER_RUNTIME_TOLERANCE = 0.005", "OTHER_RUNTIME_TOLERANCE = 0.0",
     "tests/test_recipe_options.py::test_evaluate_allows_rounding_differences_on_another_device_only"),
    ("translate TTA always on", "src/cifarlab/training/fastnet/recipe.py", "if self.cfg.tta_translate:", "if True:",
     "tests/test_fast_recipe.py::test_without_translate_tta_averages_the_image_and_its_mirror_only"),
    ("early stop never resets", "src/cifarlab/training/loop.py", "return replace(state, best_loss=loss, best_step=step, stale_evals=0)", "return replace(state, stale_evals=state.stale_evals + 1)",
     "tests/test_cli_train_numpy.py::test_early_stopping_rule_counts_evaluations_without_improvement"),
    ("lookahead not restored", "src/cifarlab/training/fastnet/recipe.py", "            self.lookahead.load_state_dict(state)", "            pass",
     "tests/test_fast_recipe.py::test_killed_fastnet_run_resumes_to_the_uninterrupted_result"),
]
only = sys.argv[1:]
for name, path, old, new, test in MUTATIONS:
    if only and name not in only:
        continue
    file = ROOT / path
    text = file.read_text()
    assert text.count(old) == 1, (name, text.count(old))
    file.write_text(text.replace(old, new))
    try:
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", test],
                                cwd=ROOT, capture_output=True, text=True)
    finally:
        file.write_text(text)
    verdict = "caught" if result.returncode != 0 else "NOT CAUGHT"
    print(f"{verdict:11} {name:36} {test.split('::')[1]}", flush=True)
