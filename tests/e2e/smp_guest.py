# SPDX-License-Identifier: MIT
"""What the smp.elf guest is given and what it prints (guests/x86_64/smp.c),
for the tests that run it."""

SMP_EXIT = 0x2a
MASK = (1 << 64) - 1


def guest_args(ncpus, iterations, spin=False, int3=False, atomics=False):
    return ["cpus=%d" % ncpus, "iter=%d" % iterations] + (["spin"] if spin else []) + \
        (["int3"] if int3 else []) + (["atomics"] if atomics else [])


def expected_serial(ncpus, iterations, int3=False, atomics=False):
    """The guest's output: the same arithmetic as smp.c."""
    lines = ["smp: %d vCPUs, %d iterations" % (ncpus, iterations)]
    total = 0
    for idx in range(ncpus):
        acc = idx
        for _ in range(iterations):
            acc = ((acc + 1) * 0x9e3779b97f4a7c15) & MASK     # smp_work, smp_mix
            acc = ((acc ^ (acc >> 29)) + idx) & MASK          # smp_fold
        total = (total + acc) & MASK
        lines.append("smp: vCPU %d work %d mix %d fold %d"
                     % (idx, iterations, iterations, iterations) +
                     (" int3 %d" % int3_traps(idx, iterations) if int3 else ""))
    if atomics:
        calls = ncpus * iterations
        bits = MASK if ncpus >= 32 else (1 << (2 * ncpus)) - 1
        lines.append("smp: atomics add %d inc %d xadd %d cmpxchg %d locked %d bits 0x%016x"
                     % (calls, calls, calls, 3 * calls, calls, bits))
    lines.append("smp: checksum 0x%016x" % total)
    return "\n".join(lines) + "\n"


def int3_traps(vcpu, calls):
    """The guest's own int3 traps of vcpu before its smp_work call number
    calls + 1 (with the word int3): k + 1 per call on vCPU k."""
    return (vcpu + 1) * calls
