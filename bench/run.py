# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# The benchmark runner, started by bench/run.sh. It runs every workload of
# the suite under every allocator it finds (glibc, and by LD_PRELOAD
# libmpcalloc, jemalloc, tcmalloc, mimalloc), alternating allocators within
# each round, records wall time, CPU time, peak RSS and minor faults of each
# run (from wait4, in the small runone wrapper), and writes medians, ratios to glibc and to the best peer,
# CSV files and gnuplot charts. Only the Python standard library is used.
"""Benchmark runner of libmpcalloc (see bench/README.md)."""

import argparse
import csv
import datetime
import glob
import hashlib
import math
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))

PEERS = ("jemalloc", "tcmalloc", "mimalloc", "mimalloc3", "snmalloc", "rpmalloc")
ALLOCATORS = ("glibc", "mpcalloc") + PEERS
# Library file names of the peers, most preferred first.
PEER_FILES = {
    "jemalloc": ["libjemalloc.so.2", "libjemalloc.so"],
    "tcmalloc": ["libtcmalloc_minimal.so.4", "libtcmalloc.so.4",
                 "libtcmalloc_minimal.so"],
    "mimalloc": ["libmimalloc.so.2"],
    # mimalloc 3 is not packaged in Debian 12: build a release tag and pass
    # --peer mimalloc3=PATH, or it is skipped with a note.
    "mimalloc3": ["libmimalloc.so.3"],
    # Neither is packaged in Debian 12 either (see bench/README.md).
    "snmalloc": ["libsnmallocshim.so"],
    "rpmalloc": ["librpmalloc.so"],
}
# Exit codes of the workload programs (bench/bench.h).
EXIT_VERIFY, EXIT_PRELOAD, EXIT_FLAGGED, EXIT_USAGE = 2, 3, 4, 64


class Workload:
    """One workload: how to start it and what it stresses."""

    def __init__(self, name, kind, what, prog=None, threads=False, extras=(), args=(),
                 needs=None):
        self.name = name
        self.kind = kind          # "c", "python", "gcc" or "mpi"
        self.what = what
        self.prog = prog          # C program, or the python script's file name
        self.threads = threads    # takes --threads
        self.args = list(args)    # fixed arguments (before --quick)
        self.needs = needs        # python module the script needs (else skipped)
        # Extra metrics the program prints as key=value: (key, column title,
        # divisor for display)
        self.extras = extras


WORKLOADS = [
    Workload("churn", "c", "1 thread, small blocks 8-512 B, random sizes and lifetimes",
             "wl_churn"),
    Workload("larson", "c", "threads replace random slots of a shared array (remote frees)",
             "wl_larson", threads=True),
    Workload("prodcons", "c", "one thread allocates, another frees everything",
             "wl_prodcons", threads=True),
    Workload("falseshare", "c", "allocator-induced false sharing, active and passive",
             "wl_falseshare", threads=True,
             extras=(("shared_lines_active", "lines shared, active phase", 1),
                     ("shared_lines_passive", "lines shared, passive phase", 1))),
    Workload("sizes", "c", "size sweep 8 B-8 MiB, malloc/posix_memalign/aligned_alloc",
             "wl_sizes", threads=True),
    Workload("realloc", "c", "buffers grown by realloc in 1 MiB steps, several at once",
             "wl_realloc"),
    Workload("bigarrays", "c", "threads allocate, fill, free 16-256 MiB arrays (page faults)",
             "wl_bigarrays", threads=True,
             extras=(("cold_faults_per_array", "page faults per array, first half", 1),
                     ("warm_faults_per_array", "page faults per array, second half", 1))),
    Workload("threads", "c", "thousands of short-lived threads that allocate",
             "wl_threads", threads=True),
    Workload("python", "python", "python3 (PYTHONMALLOC=malloc): dicts, lists, strings, JSON",
             "wl_python.py"),
    Workload("numpy", "python", "python3 + NumPy: heat stencil, FFTs, solves; MiB temporaries",
             "wl_numpy.py", needs="numpy"),
    Workload("swap", "c", "threads swap halves of a shared table every round (barrier)",
             "wl_swap", threads=True),
    Workload("handoff", "c", "short-lived threads hand half their blocks to the next one",
             "wl_threads", threads=True, args=("--keep", "100")),
    Workload("mixed", "c", "random sizes 8 B-4 MiB, random lifetimes, 1 in 8 posix_memalign",
             "wl_mixed", threads=True),
    Workload("mid", "c", "blocks of 1-32 KiB, random lifetimes, 1 in 16 freed remotely",
             "wl_mid", threads=True),
    Workload("gcc", "gcc", "gcc -O2 -c of a generated C file"),
    Workload("retention", "c", "RSS of a big phase then a small phase; RSS after freeing all",
             "wl_retention",
             extras=(("rss_big_kb", "RSS after big phase MiB", 1024),
                     ("rss_small_kb", "RSS in small phase MiB", 1024),
                     ("rss_end_kb", "RSS after freeing all MiB", 1024))),
    Workload("lammps", "mpi", "LAMMPS (lmp) Lennard-Jones melt as 2 MPI ranks (optional: needs "
             "lmp and mpirun)",
             extras=tuple((f"rank{r}_{k}", f"rank {r} {t}", d) for r in range(2)
                          for k, t, d in (("wall_ms", "wall ms", 1), ("rss_kb", "peak RSS MiB", 1024)))),
]
# The lammps workload: ranks, input (tests/mpi/melt.lmp), steps (full, quick),
# and Open MPI's settings for a machine without network (tests/mpi/common.sh).
MPI_RANKS = 2
LAMMPS_INPUT = os.path.join(HERE, "..", "tests", "mpi", "melt.lmp")
LAMMPS_STEPS, LAMMPS_STEPS_QUICK = 2000, 200
MPI_ENV = {"OMPI_MCA_btl": "self,vader", "OMPI_MCA_btl_vader_single_copy_mechanism": "none",
           "OMPI_MCA_pml": "ob1", "OMPI_MCA_hwloc_base_binding_policy": "none",
           "OMPI_MCA_rmaps_base_oversubscribe": "1", "OMPI_MCA_mpi_yield_when_idle": "1"}
BY_NAME = {w.name: w for w in WORKLOADS}

# Functions in the generated C file of the gcc workload.
GCC_FUNCS, GCC_FUNCS_QUICK = 120, 15


def say(msg):
    """A note for the person running the suite (stderr)."""
    sys.stderr.write(f"bench: {msg}\n")
    sys.stderr.flush()


# ---- finding the allocators ----------------------------------------------------

def lib_dirs():
    dirs = sorted(glob.glob("/usr/lib/*-linux-gnu*")) + [
        "/usr/lib64", "/usr/lib", "/lib64", "/usr/local/lib", "/usr/local/lib64"]
    return [d for d in dirs if os.path.isdir(d)]


def find_peer(name):
    for fname in PEER_FILES[name]:
        for d in lib_dirs():
            path = os.path.join(d, fname)
            if os.path.exists(path):
                return path
    return None


def probe(alloc, lib, probe_prog):
    """Run the probe program under the allocator's preload; return None if
    malloc and free really come from `lib` (or glibc), else a reason."""
    env = clean_env()
    if lib is not None:
        env["LD_PRELOAD"] = lib
    try:
        out = subprocess.run([probe_prog, "--probe"], env=env, capture_output=True,
                             text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError) as err:
        return f"probe failed to run: {err}"
    if out.returncode != 0:
        return f"probe exited with {describe_status(out.returncode)}: {out.stderr.strip()[:200]}"
    found = dict(tok.split("=", 1) for tok in out.stdout.split() if "=" in tok)
    for sym in ("malloc", "free"):
        got = found.get(sym, "?")
        if lib is None:
            ok = os.path.basename(got).startswith("libc.so")
        else:
            ok = os.path.realpath(got) == os.path.realpath(lib)
        if not ok:
            return f"{sym} is served by {got}, not by {lib or 'glibc'}"
    return None


def clean_env():
    env = dict(os.environ)
    for var in ("LD_PRELOAD", "BENCH_EXPECT_MALLOC", "PYTHONMALLOC"):
        env.pop(var, None)
    return env


def describe_status(code):
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit {code}"


# ---- machine description -------------------------------------------------------

def cmd_output(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                              check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def package_version(path):
    """Debian package and version that own `path` ("" if unknown)."""
    owner = cmd_output(["dpkg", "-S", os.path.realpath(path)]) or cmd_output(["dpkg", "-S", path])
    if not owner or ":" not in owner:
        return ""
    pkg = owner.split(":")[0].strip()
    if "," in pkg:
        pkg = pkg.split(",")[0].strip()
    ver = cmd_output(["dpkg-query", "-W", "-f", "${Version}", pkg])
    return f"{pkg} {ver}".strip()


def machine_description(libs):
    lines = [
        f"date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"cpus: {os.cpu_count()} ({cpu_model()})",
        f"kernel: {os.uname().release}",
        f"glibc: {os.confstr('CS_GNU_LIBC_VERSION') if 'CS_GNU_LIBC_VERSION' in os.confstr_names else '?'}",
    ]
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            kib = int(f.readline().split()[1])
            lines.append(f"memory: {kib / 1048576:.1f} GiB")
    except (OSError, ValueError, IndexError):
        pass
    for alloc, lib in libs.items():
        if lib is None:
            continue
        ver = package_version(lib) if alloc != "mpcalloc" else ""
        if alloc == "mpcalloc":
            rev = cmd_output(["git", "-C", HERE, "describe", "--always", "--dirty"])
            ver = f"git {rev}" if rev else ""
        lines.append(f"{alloc}: {lib}{'  (' + ver + ')' if ver else ''}")
    return lines


# ---- one run --------------------------------------------------------------------

class Run:
    """The outcome of one run of one workload under one allocator."""

    def __init__(self, workload, alloc, rnd):
        self.workload, self.alloc, self.round = workload, alloc, rnd
        self.status = "ok"         # ok, flagged, or the failure
        self.wall = self.user = self.sys = 0.0
        self.maxrss_kb = self.minflt = self.majflt = 0
        self.result = ""           # the workload's own result line
        self.fields = {}           # key=value of that line
        self.note = ""

    @property
    def cpu(self):
        return self.user + self.sys

    @property
    def good(self):
        return self.status in ("ok", "flagged")


def spawn_and_wait(cmd, env, out_path, err_path, timeout):
    """Start cmd (runone and its command) in a process group of its own, with
    stdout and stderr in files; kill the group after `timeout` seconds.
    Returns (exit code as subprocess reports it, timed out?)."""
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
        (os.POSIX_SPAWN_OPEN, 2, err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
    ]
    timed_out = []

    def kill(pid):
        timed_out.append(True)
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass

    pid = os.posix_spawn(cmd[0], cmd, env, file_actions=actions, setpgroup=0)
    timer = threading.Timer(timeout, kill, [pid])
    timer.start()
    try:
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
    except BaseException:
        kill(pid)
        os.waitpid(pid, 0)
        raise
    finally:
        timer.cancel()
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    return code, bool(timed_out)


def parse_result(line):
    return dict(tok.split("=", 1) for tok in line.split() if "=" in tok)


class Suite:
    """Everything about one invocation of the runner."""

    def __init__(self, args):
        self.args = args
        self.out = os.path.abspath(args.out)
        self.logs = os.path.join(self.out, "logs")
        self.runs = []
        self.libs = {}
        self.skipped = {}          # allocator -> reason
        self.workloads = []
        self.reference = {}        # workload -> checksum of the reference run
        self.python = None
        self.cc = None
        self.runone = os.path.join(args.bin, "runone")

    # -- set-up --

    def find_allocators(self):
        wanted = self.args.allocators
        probe_prog = os.path.join(self.args.bin, "wl_churn")
        for alloc in wanted:
            if alloc == "glibc":
                lib = None
            elif alloc == "mpcalloc":
                lib = os.path.abspath(self.args.lib)
                if not os.path.exists(lib):
                    self.skipped[alloc] = f"{lib} not found (build it, or pass --lib PATH)"
                    continue
            else:
                lib = self.args.peer.get(alloc) or find_peer(alloc)
                if lib is None or not os.path.exists(lib):
                    self.skipped[alloc] = ("not installed (looked for "
                                           f"{', '.join(PEER_FILES[alloc])}; pass --peer {alloc}=PATH)")
                    continue
            why = probe(alloc, lib, probe_prog)
            if why is not None:
                self.skipped[alloc] = f"preload check failed: {why}"
                continue
            self.libs[alloc] = lib
        for alloc, why in self.skipped.items():
            say(f"skipping {alloc}: {why}")
        if not self.libs:
            say("no allocator left to measure")
            sys.exit(1)

    def find_tools(self):
        for prog, role in (("wl_churn", " (also the preload probe)"), ("runone", "")):
            path = os.path.join(self.args.bin, prog)
            if not os.access(path, os.X_OK):
                say(f"{path}{role} not found: run 'make bench' (or 'make bench/{prog}'), "
                    "or pass --bin DIR")
                sys.exit(1)
        for w in self.args.only:
            wl = BY_NAME[w]
            if wl.kind == "c":
                prog = os.path.join(self.args.bin, wl.prog)
                if not os.access(prog, os.X_OK):
                    say(f"{prog} not found: run 'make bench' (or 'make bench/{wl.prog}'), "
                        "or pass --bin DIR")
                    sys.exit(1)
            elif wl.kind == "python":
                self.python = self.args.python or (
                    "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable)
                if not self.python or not os.access(self.python, os.X_OK):
                    say(f"skipping workload {wl.name}: no python3 interpreter")
                    continue
                if wl.needs and subprocess.run([self.python, "-c", f"import {wl.needs}"],
                                               capture_output=True, check=False).returncode != 0:
                    say(f"skipping workload {wl.name}: {self.python} has no module {wl.needs} "
                        f"(Debian: python3-{wl.needs})")
                    continue
            elif wl.kind == "gcc":
                self.cc = shutil.which(self.args.cc)
                if self.cc is None:
                    say(f"skipping workload gcc: {self.args.cc} not found")
                    continue
                self.write_gcc_source()
            elif wl.kind == "mpi":
                missing = [p for p in ("lmp", "mpirun") if shutil.which(p) is None]
                if missing:
                    say(f"skipping workload {wl.name}: {' and '.join(missing)} not found "
                        "(Debian packages lammps, openmpi-bin)")
                    continue
            self.workloads.append(wl)

    def write_gcc_source(self):
        d = os.path.join(self.out, "gcc")
        os.makedirs(d, exist_ok=True)
        n = GCC_FUNCS_QUICK if self.args.quick else GCC_FUNCS
        with open(os.path.join(d, "gen.c"), "w", encoding="ascii") as f:
            f.write(generate_c(n))

    # -- running --

    def command(self, wl, alloc, base=""):
        quick = ["--quick"] if self.args.quick else []
        if wl.kind == "mpi":
            # mpirun on glibc; each rank through runone (its own time and
            # peak RSS in base.rusage.RANK), which preloads the allocator
            steps = LAMMPS_STEPS_QUICK if self.args.quick else LAMMPS_STEPS
            root = ["--allow-run-as-root"] if os.geteuid() == 0 else []
            rank = 'o=$1 p=$2; shift 2; exec "$0" -o "$o.$OMPI_COMM_WORLD_RANK" -p "$p" -- "$@"'
            return ([shutil.which("mpirun")] + root + ["-np", str(MPI_RANKS), "sh", "-c", rank,
                                                      self.runone, base + ".rusage",
                                                      self.libs[alloc] or "", "lmp", "-in",
                                                      os.path.abspath(LAMMPS_INPUT), "-var", "thermo",
                                                      str(steps // 10), "-var", "steps", str(steps),
                                                      "-log", "none"])
        if wl.kind == "c":
            cmd = [os.path.join(self.args.bin, wl.prog)] + wl.args + quick
            if wl.threads and self.args.threads:
                cmd += ["--threads", str(self.args.threads)]
            return cmd
        if wl.kind == "python":
            return [self.python, os.path.join(HERE, wl.prog)] + quick
        d = os.path.join(self.out, "gcc")
        return [self.cc, "-O2", "-c", os.path.join(d, "gen.c"), "-o",
                os.path.join(d, f"gen-{alloc}.o")]

    def environment(self, wl, alloc):
        """The environment of runone; runone sets LD_PRELOAD for the child."""
        env = clean_env()
        lib = self.libs[alloc]
        if lib is not None:
            env["BENCH_EXPECT_MALLOC"] = os.path.realpath(lib)
        else:
            env["BENCH_EXPECT_MALLOC"] = "libc.so.6"
        if wl.kind == "mpi":
            env.update(MPI_ENV)
        if wl.kind == "python":
            env["PYTHONMALLOC"] = "malloc"
            env["PYTHONHASHSEED"] = "0"
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env

    def run_one(self, wl, alloc, rnd):
        r = Run(wl.name, alloc, rnd)
        base = os.path.join(self.logs, f"{wl.name}.{alloc}.r{rnd}")
        out_path, err_path, res_path = base + ".out", base + ".err", base + ".rusage"
        if os.path.exists(res_path):
            os.unlink(res_path)
        outer = "" if wl.kind == "mpi" else self.libs[alloc] or ""
        cmd = [self.runone, "-o", res_path, "-p", outer, "--"]
        cmd += self.command(wl, alloc, base)
        rc, timed_out = spawn_and_wait(cmd, self.environment(wl, alloc), out_path, err_path,
                                       self.args.timeout)
        usage = {}
        if os.path.exists(res_path):
            with open(res_path, encoding="ascii") as f:
                usage = parse_result(f.read())
        code = None
        if "status" in usage:
            kind, _, num = usage["status"].partition(":")
            code = int(num) if kind == "exit" else -int(num)
            r.wall = float(usage["wall_s"])
            r.user, r.sys = float(usage["user_s"]), float(usage["sys_s"])
            r.maxrss_kb, r.minflt = int(usage["maxrss_kb"]), int(usage["minflt"])
            r.majflt = int(usage["majflt"])
        with open(out_path, encoding="utf-8", errors="replace") as f:
            lines = [ln.strip() for ln in f if ln.strip()]
        r.result = lines[-1] if lines else ""
        r.fields = parse_result(r.result)
        if timed_out:
            r.status = f"timeout {self.args.timeout}s"
        elif code is None:
            r.status = f"runone failed ({describe_status(rc)})"
        elif code == EXIT_FLAGGED:
            r.status = "flagged"
        elif code == EXIT_VERIFY:
            r.status = "verify-failed"
        elif code == EXIT_PRELOAD:
            r.status = "preload-failed"
        elif code != 0:
            r.status = describe_status(code)
        if r.good and wl.kind == "mpi":
            self.mpi_results(r, base, lines)
        if r.good and wl.kind == "gcc":
            obj = os.path.join(self.out, "gcc", f"gen-{alloc}.o")
            try:
                with open(obj, "rb") as f:
                    r.fields["checksum"] = hashlib.sha256(f.read()).hexdigest()[:16]
                r.result = f"gcc object sha256={r.fields['checksum']}"
            except OSError:
                r.status = "no-object"
        if not r.good or r.status == "flagged":
            with open(err_path, encoding="utf-8", errors="replace") as f:
                err = [ln.strip() for ln in f if ln.strip()]
            r.note = err[0][:160] if err else ""
        if r.good:
            self.check_checksum(r)
        return r

    @staticmethod
    def mpi_results(r, base, lines):
        """Each rank's wall time and peak RSS (its runone file), and a checksum
        of the thermodynamic rows, the same under every allocator."""
        for rank in range(MPI_RANKS):
            try:
                with open(f"{base}.rusage.{rank}", encoding="ascii") as f:
                    usage = parse_result(f.read())
                r.fields[f"rank{rank}_wall_ms"] = f"{float(usage['wall_s']) * 1000:.0f}"
                r.fields[f"rank{rank}_rss_kb"] = usage["maxrss_kb"]
            except (OSError, KeyError, ValueError):
                r.status = f"no result of rank {rank}"
                return
        start = next((i for i, ln in enumerate(lines) if ln.startswith("Step ")), len(lines))
        end = next((i for i, ln in enumerate(lines) if ln.startswith("Loop time")), len(lines))
        thermo = lines[start:end]
        if len(thermo) < 2:
            r.status = "no thermodynamic output"
            return
        r.fields["checksum"] = hashlib.sha256("\n".join(thermo).encode()).hexdigest()[:16]
        r.result = f"lammps thermo sha256={r.fields['checksum']} " + " ".join(
            f"{k}={v}" for k, v in r.fields.items() if k.startswith("rank"))

    def check_checksum(self, r):
        """Every allocator must compute the same thing: compare the checksum
        with the reference (glibc's run when there is one)."""
        sumv = r.fields.get("checksum")
        if sumv is None:
            return
        ref = self.reference.get(r.workload)
        if ref is None:
            if r.alloc == "glibc" or "glibc" not in self.libs:
                self.reference[r.workload] = sumv
            return
        if sumv != ref:
            r.status = "flagged"
            r.note = f"checksum {sumv} differs from {ref}"

    def run_all(self):
        os.makedirs(self.logs, exist_ok=True)
        allocs = list(self.libs)
        total = len(self.workloads) * self.args.rounds * len(allocs)
        done = 0
        t_start = time.monotonic()
        tty = sys.stderr.isatty()
        for wl in self.workloads:
            for rnd in range(1, self.args.rounds + 1):
                for alloc in allocs:
                    done += 1
                    r = self.run_one(wl, alloc, rnd)
                    self.runs.append(r)
                    elapsed = time.monotonic() - t_start
                    eta = elapsed / done * (total - done)
                    state = "" if r.status == "ok" else f"  [{r.status}]"
                    line = (f"[{done:{len(str(total))}}/{total}] {wl.name:<10} round {rnd}/"
                            f"{self.args.rounds} {alloc:<9} {r.wall:7.2f} s "
                            f"{r.maxrss_kb / 1024:8.1f} MiB{state}   eta {eta / 60:4.1f} min")
                    if tty:
                        sys.stderr.write("\r" + line.ljust(100)[:100])
                        if not r.good:
                            sys.stderr.write("\n")
                    else:
                        sys.stderr.write(line + "\n")
                    sys.stderr.flush()
        if tty:
            sys.stderr.write("\n")
        return time.monotonic() - t_start


# ---- the generated C file of the gcc workload -------------------------------------

def generate_c(nfuncs):
    """A deterministic C file: nfuncs pairs of functions with loops, switches,
    struct accesses and calls along a chain, so that gcc -O2 inlines,
    unrolls and optimises a good deal."""
    out = ["/* Generated by bench/run.py for the gcc workload. */",
           "struct s { int a, b; double c; unsigned char buf[32]; struct s *next; };",
           "static const char *names[] = {" + ", ".join(f'"name{i}"' for i in range(64)) + "};"]
    for i in range(nfuncs):
        callee = f"f{i - 1}(p, x ^ {i})" if i else "x"
        cases = "\n".join(
            f"  case {k}: acc += p->buf[{k % 32}] * {k + i} + names[{(k * 7 + i) % 64}][{k % 5}]; break;"
            for k in range(12))
        out.append(f"""
int f{i}(struct s *p, int x);
static inline int g{i}(struct s *p, int x)
{{
  int acc = x;
  for (int k = 0; k < {i % 13 + 4}; k++) {{
    acc = acc * {i % 97 + 3} + p->a - (p->b >> (k & 7));
    if (acc & {1 << (i % 10)})
      p->c += acc * 0.5;
    else
      p->buf[k & 31] ^= (unsigned char)acc;
  }}
  switch (x & 15) {{
{cases}
  default: acc -= {i};
  }}
  return acc;
}}

int f{i}(struct s *p, int x)
{{
  int r = 0;
  for (struct s *q = p; q; q = q->next) {{
    r += g{i}(q, x + r) + {callee};
    if (r > {1000 + i})
      break;
  }}
  return r + (int)p->c;
}}""")
    return "\n".join(out) + "\n"


# ---- statistics and reports ---------------------------------------------------------

def geomean(values):
    values = [v for v in values if v is not None and v > 0]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


class Cell:
    """Medians of the good runs of one workload under one allocator."""

    def __init__(self, runs):
        good = [r for r in runs if r.good]
        self.n, self.nfail = len(good), len(runs) - len(good)
        self.flagged = any(r.status == "flagged" for r in runs)
        self.failures = [r for r in runs if not r.good]
        self.flags = [r for r in runs if r.status == "flagged"]
        med = (lambda xs: statistics.median(xs)) if good else (lambda xs: None)
        self.wall = med([r.wall for r in good])
        self.cpu = med([r.cpu for r in good])
        self.rss = med([r.maxrss_kb for r in good])
        self.minflt = med([r.minflt for r in good])
        self.extra = {}
        keys = [k for k, _, _ in BY_NAME[runs[0].workload].extras] if runs else []
        for k in keys:
            vals = [float(r.fields[k]) for r in good if k in r.fields]
            self.extra[k] = statistics.median(vals) if vals else None

    @property
    def mark(self):
        m = ""
        if self.nfail:
            m += "F" if self.n == 0 else f"F{self.nfail}"
        if self.flagged:
            m += "!"
        return m


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return None
    return a / b


def fmt(v, spec, missing="-"):
    return missing if v is None else format(v, spec)


class Report:
    def __init__(self, suite, elapsed):
        self.s = suite
        self.elapsed = elapsed
        self.allocs = list(suite.libs)
        self.peers = [a for a in self.allocs if a in PEERS]
        self.cells = {}
        for wl in suite.workloads:
            for a in self.allocs:
                runs = [r for r in suite.runs if r.workload == wl.name and r.alloc == a]
                self.cells[wl.name, a] = Cell(runs)

    def best_peer(self, wl, attr):
        best = None
        for p in self.peers:
            v = getattr(self.cells[wl, p], attr)
            if v is not None and (best is None or v < best[1]):
                best = (p, v)
        return best

    def ratios(self, wl, a, attr):
        c = self.cells[wl, a]
        g = self.cells.get((wl, "glibc"))
        vs_glibc = ratio(getattr(c, attr), getattr(g, attr)) if g else None
        best = self.best_peer(wl, attr)
        vs_peer = ratio(getattr(c, attr), best[1]) if best else None
        return vs_glibc, vs_peer

    # -- tables as rows of strings; rendered as text or Markdown --

    def detail_rows(self):
        head = ["workload", "allocator", "wall s", "x glibc", "x best peer", "cpu s",
                "peak RSS MiB", "x glibc", "x best peer", "minflt", "note"]
        rows = []
        for wl in self.s.workloads:
            for a in self.allocs:
                c = self.cells[wl.name, a]
                tg, tp = self.ratios(wl.name, a, "wall")
                rg, rp = self.ratios(wl.name, a, "rss")
                rows.append([wl.name, a,
                             fmt(c.wall, ".3f", "FAIL"), fmt(tg, ".2f"), fmt(tp, ".2f"),
                             fmt(c.cpu, ".3f"), fmt(c.rss and c.rss / 1024, ".1f"),
                             fmt(rg, ".2f"), fmt(rp, ".2f"),
                             fmt(c.minflt, ".0f"), c.mark])
        return head, rows

    def matrix_rows(self, attr, against):
        """Ratio of each allocator to glibc (against="glibc") or to the best
        peer (against="peer") per workload, and the geometric mean."""
        cols = [a for a in self.allocs if not (against == "glibc" and a == "glibc")]
        head = ["workload"] + cols
        rows, per_col = [], {a: [] for a in cols}
        for wl in self.s.workloads:
            row = [wl.name]
            for a in cols:
                vg, vp = self.ratios(wl.name, a, attr)
                v = vg if against == "glibc" else vp
                per_col[a].append(v)
                row.append(fmt(v, ".2f") + self.cells[wl.name, a].mark)
            rows.append(row)
        rows.append(["geomean"] + [fmt(geomean(per_col[a]), ".2f") for a in cols])
        return head, rows

    def mpc_rows(self):
        head = ["workload", "best peer (time)", "its wall s", "mpcalloc wall s", "ratio",
                "best peer (RSS)", "its MiB", "mpcalloc MiB", "ratio"]
        rows, tr, rr = [], [], []
        for wl in self.s.workloads:
            c = self.cells[wl.name, "mpcalloc"]
            bt = self.best_peer(wl.name, "wall")
            br = self.best_peer(wl.name, "rss")
            t = ratio(c.wall, bt[1]) if bt else None
            m = ratio(c.rss, br[1]) if br else None
            tr.append(t)
            rr.append(m)
            rows.append([wl.name, bt[0] if bt else "-", fmt(bt and bt[1], ".3f"),
                         fmt(c.wall, ".3f", "FAIL") + c.mark, fmt(t, ".2f"),
                         br[0] if br else "-", fmt(br and br[1] / 1024, ".1f"),
                         fmt(c.rss and c.rss / 1024, ".1f"), fmt(m, ".2f")])
        rows.append(["geomean", "", "", "", fmt(geomean(tr), ".2f"), "", "", "",
                     fmt(geomean(rr), ".2f")])
        return head, rows

    def extra_rows(self, wl):
        """The workload's own extra metrics (medians), one row per allocator."""
        head = ["allocator", "peak RSS MiB"] + [title for _, title, _ in wl.extras]
        rows = []
        for a in self.allocs:
            c = self.cells[wl.name, a]
            row = [a, fmt(c.rss and c.rss / 1024, ".1f")]
            for key, _, div in wl.extras:
                v = c.extra.get(key)
                row.append(fmt(None if v is None else v / div, ".1f" if div != 1 else ".0f"))
            rows.append(row)
        return head, rows

    def problems(self):
        out = []
        for (wl, a), c in self.cells.items():
            for r in c.failures:
                out.append(f"{wl} under {a}, round {r.round}: {r.status}"
                           f"{' - ' + r.note if r.note else ''}"
                           f" (log: logs/{wl}.{a}.r{r.round}.err)")
            if c.flags:
                r = c.flags[0]
                out.append(f"{wl} under {a}: flagged in {len(c.flags)} of "
                           f"{c.n + c.nfail} runs; round {r.round}: {r.note} "
                           f"(log: logs/{wl}.{a}.r{r.round}.err)")
        return out

    # -- rendering --

    TEXT_COLUMNS = ("workload", "allocator", "best peer (time)", "best peer (RSS)", "note")

    @classmethod
    def text_table(cls, head, rows):
        widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
        left = [h in cls.TEXT_COLUMNS for h in head]

        def line(cells):
            return "  ".join(str(c).ljust(w) if left[i] else str(c).rjust(w)
                             for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
        return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])

    @classmethod
    def md_table(cls, head, rows):
        out = ["| " + " | ".join(head) + " |",
               "|" + "|".join("---" if h in cls.TEXT_COLUMNS else "---:" for h in head) + "|"]
        out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
        return "\n".join(out)

    def sections(self):
        secs = [
            ("Medians per workload and allocator (x = ratio of medians; "
             "below 1 is faster / smaller)", self.detail_rows()),
            ("Wall time relative to glibc", self.matrix_rows("wall", "glibc")),
            ("Wall time relative to the best peer",
             self.matrix_rows("wall", "peer")),
            ("CPU time (user + sys) relative to glibc: less sensitive than wall time "
             "to other load on the machine", self.matrix_rows("cpu", "glibc")),
            ("Peak RSS relative to glibc", self.matrix_rows("rss", "glibc")),
            ("Peak RSS relative to the best peer",
             self.matrix_rows("rss", "peer")),
        ]
        if "mpcalloc" in self.allocs and self.peers:
            secs.append(("libmpcalloc against the best peer of each workload",
                         self.mpc_rows()))
        titles = {"retention": "retention workload: resident memory reported by the "
                               "program itself (medians)",
                  "falseshare": "falseshare workload: cache lines that held objects of "
                                "two threads (medians; 0 is ideal)",
                  "bigarrays": "bigarrays workload: page faults per array in the first "
                               "and second half of each thread's loop (medians)"}
        for wl in self.s.workloads:
            if wl.extras:
                secs.append((titles.get(wl.name, f"{wl.name}: extra metrics (medians)"),
                             self.extra_rows(wl)))
        return secs

    def header(self):
        a = self.s.args
        lines = machine_description(self.s.libs)
        lines.append(f"rounds: {a.rounds}{' (quick parameters)' if a.quick else ''}; "
                     f"allocators in each round: {' '.join(self.allocs)}")
        lines.append(f"load average: {a.load_before:.2f} before, "
                     f"{os.getloadavg()[0]:.2f} after; suite took {self.elapsed / 60:.1f} min")
        lines.append(f"command: {a.invocation}")
        return lines

    LEGEND = ("marks: F = every run failed (FAIL) or Fn = n runs failed (median of the "
              "others); ! = flagged (finished, but broke a promise such as alignment, "
              "or a checksum differs from glibc's)")

    def write(self):
        out = self.s.out
        text = ["libmpcalloc benchmark suite", ""] + self.header() + [""]
        md = ["# libmpcalloc benchmark results", ""] + [f"- {ln}" for ln in self.header()] + [""]
        for title, (head, rows) in self.sections():
            text += [title, self.text_table(head, rows), ""]
            md += [f"## {title}", "", self.md_table(head, rows), ""]
        text.append(self.LEGEND)
        md.append(self.LEGEND)
        probs = self.problems()
        if probs or self.s.skipped:
            text += ["", "Problems:"]
            md += ["", "## Problems", ""]
            for alloc, why in self.s.skipped.items():
                probs.insert(0, f"{alloc} skipped: {why}")
            text += [f"  {p}" for p in probs]
            md += [f"- {p}" for p in probs]
        body = "\n".join(text) + "\n"
        with open(os.path.join(out, "summary.txt"), "w", encoding="utf-8") as f:
            f.write(body)
        with open(os.path.join(out, "summary.md"), "w", encoding="utf-8") as f:
            f.write("\n".join(md) + "\n")
        self.write_csv()
        charts = self.write_charts()
        sys.stdout.write(body)
        sys.stdout.write(f"\nwritten to {out}: summary.txt summary.md runs.csv medians.csv"
                         f"{' ' + ' '.join(charts) if charts else ''} logs/\n")

    def write_csv(self):
        extras = [k for wl in self.s.workloads for k, _, _ in wl.extras]
        with open(os.path.join(self.s.out, "runs.csv"), "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["workload", "allocator", "round", "status", "wall_s", "user_s", "sys_s",
                        "cpu_s", "maxrss_kb", "minflt", "majflt", "checksum"] + extras +
                       ["note", "result"])
            for r in self.s.runs:
                w.writerow([r.workload, r.alloc, r.round, r.status, f"{r.wall:.4f}",
                            f"{r.user:.4f}", f"{r.sys:.4f}", f"{r.cpu:.4f}", r.maxrss_kb,
                            r.minflt, r.majflt, r.fields.get("checksum", "")] +
                           [r.fields.get(k, "") for k in extras] + [r.note, r.result])
        with open(os.path.join(self.s.out, "medians.csv"), "w", newline="",
                  encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["workload", "allocator", "runs_ok", "runs_failed", "flagged", "wall_s",
                        "cpu_s", "maxrss_kb", "minflt", "wall_vs_glibc", "wall_vs_best_peer",
                        "rss_vs_glibc", "rss_vs_best_peer"] + [f"median_{k}" for k in extras])
            for wl in self.s.workloads:
                for a in self.allocs:
                    c = self.cells[wl.name, a]
                    tg, tp = self.ratios(wl.name, a, "wall")
                    rg, rp = self.ratios(wl.name, a, "rss")
                    w.writerow([wl.name, a, c.n, c.nfail, int(c.flagged),
                                fmt(c.wall, ".4f", ""), fmt(c.cpu, ".4f", ""),
                                fmt(c.rss, ".0f", ""), fmt(c.minflt, ".0f", ""),
                                fmt(tg, ".4f", ""), fmt(tp, ".4f", ""),
                                fmt(rg, ".4f", ""), fmt(rp, ".4f", "")] +
                               [fmt(c.extra.get(k), ".0f", "") for k in extras])

    def write_charts(self):
        gnuplot = shutil.which("gnuplot")
        if gnuplot is None:
            say("gnuplot not found: no charts")
            return []
        if "glibc" not in self.allocs:
            say("glibc not measured: no ratio charts")
            return []
        cols = [a for a in self.allocs if a != "glibc"]
        made = []
        for attr, name, title in (
                ("wall", "time_ratio", "Wall time relative to glibc (median; lower is faster)"),
                ("rss", "rss_ratio", "Peak RSS relative to glibc (median; lower is smaller)")):
            dat = os.path.join(self.s.out, f"{name}.dat")
            vals = []
            with open(dat, "w", encoding="ascii") as f:
                f.write("workload " + " ".join(cols) + "\n")
                for wl in self.s.workloads:
                    row = []
                    for a in cols:
                        v = self.ratios(wl.name, a, attr)[0]
                        row.append("?" if v is None else f"{v:.4f}")
                        if v:
                            vals.append(v)
                    f.write(wl.name + " " + " ".join(row) + "\n")
            if not vals:
                continue
            lo = 2.0 ** math.floor(math.log2(min(min(vals), 1.0)) - 0.5)
            hi = 2.0 ** math.ceil(math.log2(max(max(vals), 1.0)) + 0.5)
            gp = os.path.join(self.s.out, f"{name}.gp")
            with open(gp, "w", encoding="ascii") as f:
                f.write(f"""# generated by bench/run.py
set terminal pngcairo size 1400,650 font ",11"
set output "{name}.png"
set title "{title}\\n{self.s.args.rounds} round(s){', quick parameters' if self.s.args.quick else ''}"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 2
set yrange [{lo}:{hi}]
set ytics format "%g"
set grid ytics
set xtics rotate by -25
set datafile missing "?"
set key top left
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb "black"
plot for [i=2:{len(cols) + 1}] "{name}.dat" using i:xtic(1) title columnheader(i)
""")
            res = subprocess.run([gnuplot, f"{name}.gp"], cwd=self.s.out, capture_output=True,
                                 text=True, check=False)
            if res.returncode != 0:
                say(f"gnuplot failed on {name}.gp: {res.stderr.strip()[:300]}")
            else:
                made.append(f"{name}.png")
        return made


# ---- command line -----------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="bench/run.sh",
        description="Run the libmpcalloc benchmark suite under glibc, libmpcalloc, "
                    "jemalloc, tcmalloc, mimalloc 2 and (when given) mimalloc 3.",
        epilog="Workloads: " + ", ".join(w.name for w in WORKLOADS))
    p.add_argument("--lib", help="libmpcalloc.so to test (default: the build tree's "
                   "lib/.libs/libmpcalloc.so next to --bin)")
    p.add_argument("--bin", default=HERE,
                   help="directory of the built wl_* programs (default: %(default)s)")
    p.add_argument("--rounds", type=int, help="rounds (default 5; 1 with --quick)")
    p.add_argument("--quick", action="store_true",
                   help="small parameters and 1 round: a smoke test of a couple of minutes")
    p.add_argument("--only", help="comma-separated workloads to run (default: all)")
    p.add_argument("--allocators", default=",".join(ALLOCATORS),
                   help="comma-separated allocators (default: %(default)s)")
    p.add_argument("--out", default=os.path.join(HERE, "out"),
                   help="output directory (default: %(default)s)")
    p.add_argument("--threads", type=int,
                   help="threads for the multi-threaded workloads (default: theirs, 2)")
    p.add_argument("--timeout", type=int, help="seconds before a run is killed "
                   "(default 600; 120 with --quick)")
    p.add_argument("--peer", action="append", default=[], metavar="NAME=PATH",
                   help="library of a peer (jemalloc, tcmalloc, mimalloc, mimalloc3, snmalloc, rpmalloc), "
                        "if not found")
    p.add_argument("--python", help="python3 of the python workload (default /usr/bin/python3)")
    p.add_argument("--cc", default="gcc", help="compiler of the gcc workload (default gcc)")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    a = p.parse_args(argv)
    if a.list:
        for w in WORKLOADS:
            print(f"{w.name:<11} {w.what}")
        sys.exit(0)
    a.bin = os.path.abspath(a.bin)
    if a.lib is None:
        a.lib = os.path.join(os.path.dirname(a.bin), "lib", ".libs", "libmpcalloc.so")
    if a.rounds is None:
        a.rounds = 1 if a.quick else 5
    if a.rounds < 1:
        p.error("--rounds must be at least 1")
    if a.timeout is None:
        a.timeout = 120 if a.quick else 600
    a.only = [x for x in (a.only or ",".join(w.name for w in WORKLOADS)).split(",") if x]
    for name in a.only:
        if name not in BY_NAME:
            p.error(f"unknown workload {name!r}; known: {', '.join(BY_NAME)}")
    a.only = [w.name for w in WORKLOADS if w.name in a.only]   # the suite's order
    a.allocators = [x for x in a.allocators.split(",") if x]
    for name in a.allocators:
        if name not in ALLOCATORS:
            p.error(f"unknown allocator {name!r}; known: {', '.join(ALLOCATORS)}")
    peers = {}
    for spec in a.peer:
        name, _, path = spec.partition("=")
        if name not in PEERS or not path:
            p.error(f"--peer wants NAME=PATH with NAME among {', '.join(PEERS)}")
        peers[name] = path
    a.peer = peers
    a.invocation = " ".join(["bench/run.sh"] + [shlex.quote(x) for x in argv])
    return a


def main(argv):
    args = parse_args(argv)
    args.load_before = os.getloadavg()[0]
    if args.load_before > 0.5:
        say(f"load average is {args.load_before:.2f}: something else is using the CPUs, "
            "timings will be noisy")
    suite = Suite(args)
    os.makedirs(suite.out, exist_ok=True)
    suite.find_tools()
    suite.find_allocators()
    say(f"{len(suite.workloads)} workload(s) x {len(suite.libs)} allocator(s) x "
        f"{args.rounds} round(s) -> {suite.out}")
    elapsed = suite.run_all()
    Report(suite, elapsed).write()
    # Failures of libmpcalloc make the suite fail; the peers' are only reported.
    bad = [r for r in suite.runs if not r.good and r.alloc == "mpcalloc"]
    return 1 if bad else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        say("interrupted")
        sys.exit(130)
