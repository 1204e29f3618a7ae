"""Both sides of the trust boundary: the zygote and workers that run student code, and the trusted
side's handles to them, the codec between the two, the confinement and the forbidden-operation guard."""
