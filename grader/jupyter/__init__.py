"""The notebook face of the grader: ``%load_ext grader`` and ``%grade``, run inside a student's kernel.

The kernel runs the student's code, so nothing here judges anything: ``%grade`` starts ``grade`` as
a subprocess on the saved notebook and shows its report.
"""
