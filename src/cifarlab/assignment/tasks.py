"""The assignment's tasks: what each asks, in which file, and what its checks compare.

Standalone (the Python standard library only): copied into the student folder's checks/.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    id: str
    part: int
    file: str
    title: str
    points: int  # the default; a rubric file can change it
    outputs: tuple[tuple[str, str], ...]  # (output name or name prefix, what it is, for messages)
    # Forms a correct solution may take. `variants`: those the probe reports from the code itself
    # (e.g. whether MLP takes neg_slope); any other report counts as the first. `alternatives`:
    # those only the values tell apart, tried in turn.
    variants: tuple[dict, ...] = ({},)
    alternatives: tuple[dict, ...] = ({},)

    def forms(self, reported: dict) -> list[dict]:
        """The forms to judge a solution by, in turn: the variant its probe reported (if it is
        one of ours: the probe is untrusted), combined with each alternative."""
        variant = reported if reported in self.variants else self.variants[0]
        return [variant | alternative for alternative in self.alternatives]

    @property
    def owner(self) -> str:
        """The class or function the task is about: 'LinearModule', 'MLP', 'sgd_step'."""
        return self.title.split(" ")[0]

    def label(self, output: str) -> str:
        """What an output is, in words: 'LinearModule.backward: dL/dW', 'MLP.backward: dL/dW of layer 1'."""
        for name, words in self.outputs:
            if output == name:
                return words
            if name.endswith("_") and output.startswith(name):
                return f"{words} of linear layer {output[len(name):]}"
        return f"{self.title}: {output}"


TASKS = (
    Task("linear", 1, "modules.py", "LinearModule", 10,
         (("out", "LinearModule.forward: the output"), ("dx", "LinearModule.backward: dL/dx"),
          ("dW", "LinearModule.backward: dL/dW"), ("db", "LinearModule.backward: dL/db"))),
    Task("leaky_relu", 1, "modules.py", "LeakyReLUModule", 5,
         (("out", "LeakyReLUModule.forward: the output"), ("dx", "LeakyReLUModule.backward: dL/dx"))),
    Task("softmax", 1, "modules.py", "SoftMaxModule", 10,
         (("out", "SoftMaxModule.forward: the output"), ("dx", "SoftMaxModule.backward: dL/dx"))),
    Task("cross_entropy", 1, "modules.py", "CrossEntropyModule", 5,
         (("loss", "CrossEntropyModule.forward: the loss"), ("dx", "CrossEntropyModule.backward: dL/dx")),
         alternatives=({}, {"loss_input": "logits"})),  # a module that fuses the softmax in takes logits
    Task("softmax_cross_entropy", 1, "modules.py", "SoftMaxCrossEntropyModule", 5,
         (("loss", "SoftMaxCrossEntropyModule.forward: the loss"),
          ("dx", "SoftMaxCrossEntropyModule.backward: dL/dx"))),
    Task("mlp_numpy", 1, "mlp_numpy.py", "MLP (NumPy)", 10,
         (("out", "MLP.forward: the output"), ("dx", "MLP.backward: dL/dx"),
          ("dW_", "MLP.backward: dL/dW"), ("db_", "MLP.backward: dL/db")),
         variants=tuple({"neg_slope": slope, "output": output} for slope in (True, False)
                        for output in ("probabilities", "logits"))),
    Task("sgd_step", 1, "train_mlp_numpy.py", "sgd_step", 5,
         (("W_", "sgd_step: the updated weight"), ("b_", "sgd_step: the updated bias"))),
    Task("accuracy", 1, "train_mlp_numpy.py", "accuracy", 2, (("accuracy", "accuracy: the value"),)),
    Task("mlp_pytorch", 2, "mlp_pytorch.py", "MLP (PyTorch)", 10, (("out", "MLP.forward: the logits"),),
         variants=({"neg_slope": True}, {"neg_slope": False})),
    Task("batchnorm_autograd", 3, "custom_batchnorm.py", "CustomBatchNormAutograd", 10,
         (("out", "CustomBatchNormAutograd.forward: the output"),
          ("dx", "CustomBatchNormAutograd: dL/dinput (by autograd)"),
          ("dgamma", "CustomBatchNormAutograd: dL/dgamma (by autograd)"),
          ("dbeta", "CustomBatchNormAutograd: dL/dbeta (by autograd)"))),
    Task("batchnorm_function", 3, "custom_batchnorm.py", "CustomBatchNormManualFunction", 15,
         (("out", "CustomBatchNormManualFunction.forward: the output"),
          ("dx", "CustomBatchNormManualFunction.backward: grad_input"),
          ("dgamma", "CustomBatchNormManualFunction.backward: grad_gamma"),
          ("dbeta", "CustomBatchNormManualFunction.backward: grad_beta"))),
    Task("batchnorm_module", 3, "custom_batchnorm.py", "CustomBatchNormManualModule", 5,
         (("out", "CustomBatchNormManualModule.forward: the output"),
          ("dx", "CustomBatchNormManualModule: dL/dinput"),
          ("dgamma", "CustomBatchNormManualModule: dL/dgamma"),
          ("dbeta", "CustomBatchNormManualModule: dL/dbeta"))),
    Task("convnet", 4, "convnet_pytorch.py", "ConvNet", 10, (("out", "ConvNet.forward: the logits"),)),
)

TASKS_BY_ID = {task.id: task for task in TASKS}
PARTS = {1: "the NumPy MLP", 2: "the PyTorch MLP", 3: "batch normalisation", 4: "the ConvNet"}


def tasks_of(parts) -> list:
    return [task for task in TASKS if task.part in parts]


def variant_key(variant: dict) -> str:
    """A variant (what the code follows: {"neg_slope": False}) as text, for file keys."""
    return ",".join(f"{name}={value}" for name, value in sorted(variant.items())) or "default"
