"""The course's lifecycle: release, selfcheck and its mutants, submit, and scaffolding new exercises."""
