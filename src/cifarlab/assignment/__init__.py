"""The course assignment, generated from cifarlab's own solution (docs/assignment.md).

solution/   the course's files, solved, with each blank marked by a comment pair (blanks.py)
tasks.py    what each task asks and compares          handout.py   `assignment new`: the student folder
cases.py    public and hidden inputs                  expected.py  cifarlab's values for them
probe.py    runs a submission on inputs (child side)  runner.py    the child process and its limits
probe_tasks.py  each task's probe (child side)
compare.py  values -> a verdict in words              checking.py  `assignment check`
grading.py  `assignment grade`: rubric, CSV, feedback
"""
