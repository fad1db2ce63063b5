"""sim_kernel_table.py CONFIG=RUNS_DIR... - the per-kernel table of a simulator
run (tests/sim/run_sim_tests.sh): from every RUNS_DIR/*/log.txt, GPGPU-Sim's
report at each kernel's end (kernel_name, gpu_sim_cycle, gpu_sim_insn, and
the cumulative global-memory transaction, L2 and DRAM counters, turned into
per-launch differences), summed per configuration, kernel and test. DRAM
bytes are the DRAM controllers' read and write requests (n_rd + n_rd_L2_A,
n_write + n_wr_bk, summed over the channels) times 32 bytes, the L2 sector
each request moves (the configurations' L2 is sectored: 128-byte lines of
four 32-byte sectors; run_sim_tests.sh makes it write through and leaves it
cold after memcpy, so these are the bytes a full-size frame, whose
activations do not fit in L2, moves). CONFIG
(nano, orin: CONFIGURATIONS) names the simulator configuration the runs in
RUNS_DIR used. A missing RUNS_DIR contributes no rows. Figures of modelled
GPUs, not timings of a Jetson. Plain Python 3."""

import os
import re
import subprocess
import sys

CONFIGURATIONS = {
    "nano": "GPGPU-Sim's Jetson Nano approximation (1 SM, sm_53, 921.6 MHz)",
    "orin": "GPGPU-Sim's Orin Nano 8GB approximation (8 SMs, sm_87, 625 MHz)",
}

FIELDS = ("gpu_sim_cycle", "gpu_sim_insn", "gpgpu_n_mem_read_global", "gpgpu_n_mem_write_global",
          "L2_total_cache_misses")
# Summed over the DRAM channels' lines of one report; cumulative, like FIELDS[2:].
DRAM_FIELDS = ("dram_reads", "dram_writes")
DRAM_LINE = re.compile(r"n_rd=(\d+) n_rd_L2_A=(\d+) n_write=(\d+) n_wr_bk=(\d+)")
SECTOR_BYTES = 32


def demangle(names):
    try:
        out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True, check=True)
        return out.stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return names


def short(name):
    """kernel_x<T, ...> without namespaces and arguments."""
    name = name.replace("(anonymous namespace)::", "").replace("m2u::", "")
    name = re.sub(r"\([^()]*\)$", "", name)  # the argument list
    return re.sub(r"^void ", "", name)


def launches(log_path):
    """(test, kernel, cycles, insn, reads, writes, l2_misses, dram reads and
    writes) per launch."""
    cumulative = FIELDS[2:] + DRAM_FIELDS
    current, totals, rows = None, {f: 0 for f in cumulative}, []
    with open(log_path, errors="replace") as log:
        for line in log:
            match = re.match(r"kernel_name = (\S+)", line)
            if match:
                current = {"kernel": match.group(1), "dram_reads": 0, "dram_writes": 0}
                continue
            if current is None:
                continue
            match = DRAM_LINE.search(line)
            if match:  # one line per DRAM channel, before the L2 counters
                rd, rd_alloc, wr, wr_back = (int(g) for g in match.groups())
                current["dram_reads"] += rd + rd_alloc
                current["dram_writes"] += wr + wr_back
                continue
            match = re.match(r"(\w+) = (\d+)\s*$", line)
            if not match or match.group(1) not in FIELDS:
                continue
            current[match.group(1)] = int(match.group(2))
            if all(f in current for f in FIELDS):
                for key in cumulative:  # cumulative over the process: the launch's share
                    current[key], totals[key] = current[key] - totals[key], current[key]
                rows.append(current)
                current = None
    return rows


def main(arguments):
    per_kernel = {}
    configs = []
    for argument in arguments:
        config, runs = argument.split("=", 1)
        if config not in CONFIGURATIONS:
            sys.exit("sim_kernel_table.py: unknown configuration %r (known: %s)" % (config, ", ".join(CONFIGURATIONS)))
        configs.append(config)
        if not os.path.isdir(runs):
            continue
        for test in sorted(os.listdir(runs)):
            log = os.path.join(runs, test, "log.txt")
            if not os.path.isfile(log):
                continue
            for row in launches(log):
                entry = per_kernel.setdefault((config, row["kernel"], test),
                                               {f: 0 for f in FIELDS + DRAM_FIELDS} | {"launches": 0})
                entry["launches"] += 1
                for f in FIELDS + DRAM_FIELDS:
                    entry[f] += row[f]
    keys = sorted(per_kernel, key=lambda k: (configs.index(k[0]), k[1], k[2]))
    names = demangle([k[1] for k in keys])
    print("Simulated (modelled GPUs, not Jetson timings; the kernel tests' own shapes) on:")
    print()
    for config in configs:
        print("- %s: %s" % (config, CONFIGURATIONS[config]))
    print()
    print("| config | kernel | test | launches | cycles | cycles/launch | thread-instructions | "
          "global reads | global writes | L2 misses | DRAM bytes read | DRAM bytes written |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (config, kernel, test), name in zip(keys, names):
        e = per_kernel[(config, kernel, test)]
        print("| %s | `%s` | %s | %d | %d | %d | %d | %d | %d | %d | %d | %d |" % (
            config, short(name), test.replace("test_kernel_", ""), e["launches"], e["gpu_sim_cycle"],
            e["gpu_sim_cycle"] // max(e["launches"], 1), e["gpu_sim_insn"], e["gpgpu_n_mem_read_global"],
            e["gpgpu_n_mem_write_global"], e["L2_total_cache_misses"], e["dram_reads"] * SECTOR_BYTES,
            e["dram_writes"] * SECTOR_BYTES))


if __name__ == "__main__":
    main(sys.argv[1:])
