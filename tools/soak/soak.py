#!/usr/bin/env python3
"""Soak and back-pressure test: stream a data set through `coreset run` many times over and record
the process's memory over time (VmRSS and VmHWM from /proc/PID/status, every --interval seconds).

    python3 tools/soak/soak.py                          # mnist train x 20 (1.2 M records), defaults
    python3 tools/soak/soak.py --passes 20 --max-seconds 300 --name backpressure -- --replay-steps 50
        # back-pressure: a producer far faster than a slowed learner, stopped (SIGINT) after 300 s

The producer is `zstd -dc FILE` run PASSES times into a pipe, as fast as zstd goes; `coreset run`
reads stdin. Pass boundaries are told from the bytes coreset has read (/proc/PID/io rchar) over the
decompressed size of one pass. Writes tools/out/soak/NAME.tsv (the curve), NAME.png (if matplotlib
is there) and NAME.summary.tsv, and prints the summary: peak RSS after the first pass, at the end, and
their ratio (the issue's bar: at most 1.25). Exit status 1 when the ratio is above --limit.
A run stopped by --max-seconds compares the peak at a quarter of its time with the peak at the end,
and reports how fast coreset read against how fast the producer alone writes.
"""
import argparse
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def rchar(pid):
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "mnist", "mnist.train.svm.zst"))
    ap.add_argument("--passes", type=int, default=20)
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "coreset"))
    ap.add_argument("--interval", type=float, default=0.5)
    ap.add_argument("--name", default="soak")
    ap.add_argument("--limit", type=float, default=1.25)
    ap.add_argument("--max-seconds", type=float, default=None, help="stop coreset with SIGINT after this long")
    ap.add_argument("extra", nargs="*", help="more arguments for `coreset run` (after --)")
    a = ap.parse_args()
    if not os.path.exists(a.data):
        sys.exit(f"{a.data}: not found (../shared/data is needed for the soak test)")
    if not os.path.exists(a.binary):
        sys.exit(f"{a.binary}: not found; build it with `swift build -c release`")
    pass_bytes = int(subprocess.run(f"zstd -dc '{a.data}' | wc -c", shell=True, check=True,
                                    capture_output=True, text=True).stdout)
    out_dir = os.path.join(ROOT, "tools", "out", "soak")
    os.makedirs(out_dir, exist_ok=True)

    producer = subprocess.Popen(["bash", "-c", f"for i in $(seq {a.passes}); do zstd -dc '{a.data}'; done"],
                                stdout=subprocess.PIPE)
    cmd = [a.binary, "run", "-q", *a.extra]
    stdout_path = os.path.join(out_dir, a.name + ".stdout")
    with open(stdout_path, "w") as so:
        run = subprocess.Popen(cmd, stdin=producer.stdout, stdout=so, stderr=subprocess.PIPE, text=True)
    producer.stdout.close()
    start = time.monotonic()
    rows = []  # seconds, rss MiB, hwm MiB, bytes read, passes
    interrupted = False
    while run.poll() is None:
        if a.max_seconds is not None and not interrupted and time.monotonic() - start > a.max_seconds:
            run.send_signal(signal.SIGINT)  # coreset flushes what it accepted and exits 130
            interrupted = True
        rss, hwm, got = status_kb(run.pid, "VmRSS"), status_kb(run.pid, "VmHWM"), rchar(run.pid)
        if rss is not None and got is not None:
            rows.append((time.monotonic() - start, rss / 1024, hwm / 1024, got, got / pass_bytes))
        time.sleep(a.interval)
    err = run.stderr.read()
    producer.kill()
    producer.wait()
    elapsed = time.monotonic() - start
    if run.returncode != 0 and not (interrupted and run.returncode == 130):
        sys.stderr.write(err)
        sys.exit(f"coreset run exited with {run.returncode}")
    summary = dict(line.split("\t", 1) for line in open(stdout_path).read().splitlines() if "\t" in line)

    first = [r for r in rows if (r[0] <= elapsed / 4 if interrupted else r[4] <= 1.0)]
    hwm_first = max(r[2] for r in first) if first else float("nan")
    hwm_end = max(r[2] for r in rows)
    ratio = hwm_end / hwm_first
    with open(os.path.join(out_dir, a.name + ".tsv"), "w") as f:
        f.write("seconds\trss_mib\thwm_mib\tbytes_read\tpasses\n")
        for r in rows:
            f.write(f"{r[0]:.1f}\t{r[1]:.1f}\t{r[2]:.1f}\t{r[3]}\t{r[4]:.3f}\n")
    # RSS at each pass boundary, for the table in docs/reliability.md.
    per_pass = []
    for p in range(1, a.passes + 1):
        upto = [r for r in rows if r[4] <= p]
        if upto:
            per_pass.append((p, upto[-1][1], max(r[2] for r in upto)))
    lines = [
        ("command", " ".join(["coreset", "run", "-q", *a.extra]) + f"  < {a.passes} x {os.path.basename(a.data)}"),
        ("records_accepted", summary.get("records_accepted", "?")),
        ("seconds", f"{elapsed:.1f}"),
        ("records_per_s", f"{int(summary.get('records_accepted', 0)) / elapsed:.0f}"),
        ("MB_per_s_read", f"{rows[-1][3] / elapsed / 1e6:.1f}" if rows else "?"),
        ("stopped_after_s", f"{a.max_seconds}" if interrupted else "-"),
        ("peak_rss_after_pass_1_mib" if not interrupted else "peak_rss_at_quarter_time_mib", f"{hwm_first:.1f}"),
        ("peak_rss_at_end_mib", f"{hwm_end:.1f}"),
        ("ratio", f"{ratio:.3f}"),
        ("limit", f"{a.limit}"),
    ]
    if not interrupted:
        lines.append(("per_pass_rss_mib", " ".join(f"{p}:{rss:.0f}" for p, rss, _ in per_pass)))
    if interrupted:
        # How fast the producer alone writes the same bytes, for the back-pressure ratio.
        t0 = time.monotonic()
        subprocess.run(f"zstd -dc '{a.data}' > /dev/null", shell=True, check=True)
        producer_mbps = pass_bytes / (time.monotonic() - t0) / 1e6
        read_mbps = rows[-1][3] / elapsed / 1e6
        lines.append(("producer_alone_MB_per_s", f"{producer_mbps:.1f}"))
        lines.append(("producer_over_reader_speed", f"{producer_mbps / read_mbps:.0f}x"))
    with open(os.path.join(out_dir, a.name + ".summary.tsv"), "w") as f:
        for k, v in lines:
            f.write(f"{k}\t{v}\n")
    for k, v in lines:
        print(f"{k}\t{v}")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 3.2))
        # An interrupted run may not finish one pass: plot it against time.
        x = [r[0] for r in rows] if interrupted else [r[4] for r in rows]
        ax.plot(x, [r[1] for r in rows], label="RSS")
        ax.plot(x, [r[2] for r in rows], label="peak RSS (VmHWM)")
        reference = "at a quarter of the time" if interrupted else "after pass 1"
        ax.axhline(hwm_first * a.limit, color="grey", linestyle=":", label=f"{a.limit} x peak {reference}")
        ax.set_xlabel("seconds" if interrupted else "passes over the data (bytes read / bytes per pass)")
        ax.set_ylabel("MiB")
        ax.set_ylim(bottom=0)
        ax.set_title(f"coreset run {' '.join(a.extra)}: {summary.get('records_accepted', '?')} records")
        ax.legend(loc="lower right")
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, a.name + ".png"), dpi=90)
    except ImportError:
        pass
    sys.exit(0 if ratio <= a.limit else 1)


if __name__ == "__main__":
    main()
