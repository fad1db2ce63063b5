"""sim_kernel_table.py CONFIG=RUNS_DIR... - the per-kernel table of a simulator
run (tests/sim/run_sim_tests.sh): from every RUNS_DIR/*/log.txt, GPGPU-Sim's
report at each kernel's end (kernel_name, gpu_sim_cycle, gpu_sim_insn, and
the cumulative global-memory transaction and L2 counters, turned into
per-launch differences), summed per configuration, kernel and test; CONFIG
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
    """(test, kernel, cycles, insn, reads, writes, l2_misses) per launch."""
    current, totals, rows = None, {f: 0 for f in FIELDS[2:]}, []
    with open(log_path, errors="replace") as log:
        for line in log:
            match = re.match(r"kernel_name = (\S+)", line)
            if match:
                current = {"kernel": match.group(1)}
                continue
            match = re.match(r"(\w+) = (\d+)\s*$", line)
            if not match or current is None or match.group(1) not in FIELDS:
                continue
            key, value = match.group(1), int(match.group(2))
            if key in totals:  # cumulative over the process: the launch's share
                current[key], totals[key] = value - totals[key], value
            else:
                current[key] = value
            if all(f in current for f in FIELDS):
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
                entry = per_kernel.setdefault((config, row["kernel"], test), {f: 0 for f in FIELDS} | {"launches": 0})
                entry["launches"] += 1
                for f in FIELDS:
                    entry[f] += row[f]
    keys = sorted(per_kernel, key=lambda k: (configs.index(k[0]), k[1], k[2]))
    names = demangle([k[1] for k in keys])
    print("Simulated (modelled GPUs, not Jetson timings; the kernel tests' own shapes) on:")
    print()
    for config in configs:
        print("- %s: %s" % (config, CONFIGURATIONS[config]))
    print()
    print("| config | kernel | test | launches | cycles | cycles/launch | thread-instructions | "
          "global reads | global writes | L2 misses (DRAM) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for (config, kernel, test), name in zip(keys, names):
        e = per_kernel[(config, kernel, test)]
        print("| %s | `%s` | %s | %d | %d | %d | %d | %d | %d | %d |" % (
            config, short(name), test.replace("test_kernel_", ""), e["launches"], e["gpu_sim_cycle"],
            e["gpu_sim_cycle"] // max(e["launches"], 1), e["gpu_sim_insn"], e["gpgpu_n_mem_read_global"],
            e["gpgpu_n_mem_write_global"], e["L2_total_cache_misses"]))


if __name__ == "__main__":
    main(sys.argv[1:])
