"""`cifarlab gradcheck`: analytic vs finite-difference gradients for every NumPy module."""

from __future__ import annotations


def register(commands) -> None:
    parser = commands.add_parser("gradcheck", help="check the NumPy engine's gradients by finite differences",
                                 description="Compare every NumPy module's and two MLPs' analytic gradients "
                                             "(inputs and parameters, batched, float64) with central finite "
                                             "differences; exit 1 if any relative error reaches the tolerance.")
    parser.add_argument("--batch-size", type=int, default=8, help="batch size of the probe input (default: 8)")
    parser.add_argument("--tolerance", type=float, default=1e-6, help="largest accepted relative error (default: 1e-6)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the probe data (default: 0)")
    parser.set_defaults(handler=run_gradcheck)


def run_gradcheck(args) -> int:
    from cifarlab.errors import CifarlabError
    from cifarlab.numpy_nn.gradcheck import check_all

    if args.batch_size < 1:
        raise CifarlabError("--batch-size must be at least 1")
    results = check_all(batch_size=args.batch_size, seed=args.seed)
    print(f"{'module':<30}{'max rel. error':>16}  {'worst tensor':<14}result")
    for result in results:
        worst = max(result.errors, key=result.errors.get)
        verdict = "ok" if result.passed(args.tolerance) else "FAIL"
        print(f"{result.name:<30}{result.max_error:>16.2e}  {worst:<14}{verdict}")
    failed = [r.name for r in results if not r.passed(args.tolerance)]
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed (tolerance {args.tolerance:g})")
    return 1 if failed else 0
