"""Run a student's code on given inputs and save what it computes; judge nothing.

Standalone (NumPy, and PyTorch for parts 2-4): the grader runs this file in a subprocess,
    python -I probe.py [--file-limit BYTES] [--reference SOLUTION_DIR] SUBMISSION_DIR CASES.npz RESULTS_DIR TASK...
and compares the saved values with its own in its own process, so nothing a submission
prints or patches here can change a score. The student folder's tests import it too.

The task probes themselves are in probe_tasks.py. For each task this writes
RESULTS_DIR/TASK.json (status: "ran", "not_started" or "error", a message, the variant the
code follows) and RESULTS_DIR/TASK.npz (the values), and before each task RESULTS_DIR/started
(the task's id), so the grader knows which task was running if the process dies or hangs.
"""

import contextlib
import importlib
import importlib.util
import io
import json
import os
import sys
import traceback

import numpy as np

# ---- reading the cases file: keys "task/case/name" ----------------------------------

def cases_of(arrays, task):
    """{case name: {input name: array}} of one task, in the file's order."""
    cases = {}
    for key in arrays.files:
        task_id, case, name = key.split("/")
        if task_id == task:
            cases.setdefault(case, {})[name] = arrays[key]
    return cases


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
            student_batchnorm = importlib.import_module("custom_batchnorm")
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


# ---- running tasks ---------------------------------------------------------------

def _sibling(name):
    """A module beside this file, loaded by path: `python -I` leaves this file's folder off
    sys.path, and the submission's own folder goes first on it."""
    return _load_file(f"_assignment_{name}", os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py"))


probe_tasks, tasks = _sibling("probe_tasks"), _sibling("tasks")
PROBES = {name[len("probe_"):]: function for name, function in vars(probe_tasks).items()
          if name.startswith("probe_")}


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
        blank = _raised_in(error)
        owner = tasks.TASKS_BY_ID[task].owner
        needed = "" if blank.split(".")[0] == owner else f" ({owner} uses it: fill it in first)"
        return "not_started", f"{blank} raises NotImplementedError{needed}", {}, variant
    except probe_tasks.Unexpected as error:
        return "error", str(error), {}, variant
    except (Exception, SystemExit) as error:  # the student's code: any failure is reported, not raised
        text = f"{type(error).__name__}: {error}"
        return "error", (text[:300] + " ..." if len(text) > 300 else text) + _where(error), {}, variant
    return "ran", "", values, variant


def _write_atomically(path, payload: bytes):
    with open(path + ".tmp", "wb") as file:
        file.write(payload)
    os.replace(path + ".tmp", path)


def save_result(results_dir, task, status, message, values, variant):
    """TASK.npz, then TASK.json: the grader reads a task as done once both are there."""
    arrays = io.BytesIO()
    np.savez(arrays, **{key.replace("/", "|"): value for key, value in values.items()})
    _write_atomically(os.path.join(results_dir, f"{task}.npz"), arrays.getvalue())
    record = {"status": status, "message": message, "variant": variant}
    _write_atomically(os.path.join(results_dir, f"{task}.json"), json.dumps(record).encode())


class _NoCifarlab:
    """An import hook refusing cifarlab: a submission computes its own values (a speed bump, not a wall)."""

    def find_spec(self, name, path=None, target=None):
        if name == "cifarlab" or name.startswith("cifarlab."):
            raise ImportError("cifarlab cannot be imported by a submission")
        return None


def _limit_files(largest):
    """No file written from here on may grow past `largest` bytes; no core dumps."""
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (largest, largest))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main(argv):
    reference = None
    if argv[0] == "--file-limit":
        _limit_files(int(argv[1]))
        argv = argv[2:]
    if argv[0] == "--reference":
        reference, argv = os.path.abspath(argv[1]), argv[2:]
    submission, cases_file, results_dir, *task_ids = argv
    submission, results_dir = os.path.abspath(submission), os.path.abspath(results_dir)
    sys.meta_path.insert(0, _NoCifarlab())
    sys.path.insert(0, submission)
    os.chdir(submission)
    with np.load(cases_file) as arrays:
        all_cases = {task: cases_of(arrays, task) for task in task_ids}
    for task in task_ids:
        _write_atomically(os.path.join(results_dir, "started"), task.encode())
        save_result(results_dir, task, *run_task(task, all_cases[task], reference))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
