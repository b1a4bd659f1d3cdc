"""Memory plans under the process's limits: under any `ulimit -v` a steady solve exits 0, 3 or 4
(with the amount it needs), never a signal; the plan counts what is allocated (the iterative
solver's dense local eigenvector matrices included); messages show finite numbers.

OpenBLAS's worker threads map their 129 MiB buffers as the library loads and retry for ever
when they cannot; the program runs itself with one OpenBLAS thread under an address-space
limit, so the test runs with OPENBLAS_NUM_THREADS unset, as a user would."""
import json, os, re, resource, subprocess, sys, tempfile
from checks import check, finish

QS = sys.argv[1]
EX = sys.argv[2]
ENV = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}


def run(args, limit_kb=None, timeout=120):
    def pre():
        if limit_kb:
            resource.setrlimit(resource.RLIMIT_AS, (limit_kb * 1024, limit_kb * 1024))
    p = subprocess.run([QS] + args, capture_output=True, text=True, preexec_fn=pre, env=ENV, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def amount(err):
    m = re.search(r"needs (?:about|at least) ([0-9.e+]+) MiB, but (?:only ([0-9.]+) MiB are|nothing is) "
                  r"(left by the address-space limit|left by the data-size limit|available|allowed)", err)
    return (float(m.group(1)), float(m.group(2) or 0), m.group(3)) if m else None


# 1. ring6 (GMRES, 1.7 M unknowns) under ulimit -v 600000: refused with the amount (was SIGSEGV)
rc, out, err = run(["steady", f"{EX}/ring6.ini"], 600000)
a = amount(err)
check("ring6 under ulimit -v 600000 exits 4", rc == 4, f"rc {rc}: {err.strip()[:200]}")
check("ring6: the message names the amount and the address-space limit",
      a is not None and a[0] > 1000 and a[1] < 600 and "address-space" in a[2], err.strip()[:200])

# 2. a sweep of limits on three models: 0, 3 or 4 (with an amount), never a signal
for model in ("ring4", "fig4", "ring6"):
    for kb in (150000, 300000, 450000, 600000, 900000, 1500000):
        if model == "ring6" and kb > 1500000:
            continue
        rc, out, err = run(["steady", f"{EX}/{model}.ini"], kb)
        ok = rc in (0, 3) or (rc == 4 and amount(err) is not None) or (rc == 4 and "out of memory" in err)
        check(f"{model} under ulimit -v {kb}: exit 0/3/4, never a signal", ok, f"rc {rc}: {err.strip()[:160]}")

# 3. the preconditioner's dense matrices are planned: one oscillator of 65535 levels on GMRES
#    needs 2 x 65535^2 doubles (64 GiB) and is refused at once (was: a 32 GiB allocation)
with tempfile.TemporaryDirectory() as tmp:
    one = os.path.join(tmp, "one.ini")
    with open(one, "w") as f:
        f.write("[defaults]\ngamma = 1\nsigma = 0.2\nK = 10\nnbar = 2\nlevels = 65535\n[oscillator A]\n")
    rc, out, err = run(["steady", one, "--solver", "iterative", "--memory-limit", "8G"], timeout=30)
    a = amount(err)
    check("levels 65535 on GMRES: exit 4", rc == 4, f"rc {rc}: {err.strip()[:200]}")
    check("levels 65535 on GMRES: the plan counts V and V^-1 (>= 2 x 65535^2 x 8 bytes)",
          a is not None and a[0] * 1048576 >= 2 * 65535.0 ** 2 * 8, err.strip()[:200])

    # 4. a network too large to index: finite numbers in the message, at once
    many = os.path.join(tmp, "many.ini")
    with open(many, "w") as f:
        f.write("[defaults]\ngamma = 1\nsigma = 0.2\nK = 10\nnbar = 1\nlevels = 4\n")
        for i in range(80):
            f.write(f"[oscillator O{i}]\n")
    for lv in ("4", "65535"):
        rc, out, err = run(["steady", many, "--set", f"levels={lv}"], timeout=30)
        check(f"80 oscillators x {lv} levels: exit 4 with finite numbers",
              rc == 4 and not re.search(r"\b(inf|nan)\b", err, re.I) and "MiB" in err, f"rc {rc}: {err.strip()[:200]}")

# 5. the plan against what a solve really maps: ring4 with 5 levels on GMRES
rc, out, err = run(["steady", f"{EX}/ring4.ini", "--solver", "iterative", "--json"])
planned = json.loads(out)["memory_planned_bytes"] if rc == 0 else 0
check("ring4 on GMRES solves without a limit", rc == 0 and planned > 0, f"rc {rc}")
# with the limit a little below the plan it is refused, a little above it solves
rc_lo, _, err_lo = run(["steady", f"{EX}/ring4.ini", "--solver", "iterative", "--memory-limit", str(int(planned * 0.9))])
rc_hi, _, err_hi = run(["steady", f"{EX}/ring4.ini", "--solver", "iterative", "--memory-limit", str(int(planned * 1.1))])
check("ring4 on GMRES: refused at 0.9 x its plan", rc_lo == 4, err_lo.strip()[:160])
check("ring4 on GMRES: solves at 1.1 x its plan", rc_hi == 0, err_hi.strip()[:160])
# under an address-space limit: the limit less what the process maps before planning (read
# from ring6's refusal in 1.) and 1.05 x the plan suffices (the plan counts what is allocated)
rc, _, err = run(["steady", f"{EX}/ring6.ini"], 600000)
a = amount(err)
if a:
    base_kb = 600000 - a[1] * 1024
    kb = int(base_kb + 1.05 * planned / 1024)
    rc, _, err = run(["steady", f"{EX}/ring4.ini", "--solver", "iterative"], kb)
    check(f"ring4 on GMRES solves under ulimit -v {kb} (1.05 x its plan of {planned / 1048576:.2f} MiB free)", rc == 0, err.strip()[:160])
    rc, _, err = run(["steady", f"{EX}/ring4.ini", "--solver", "iterative"], int(base_kb + 0.9 * planned / 1024))
    check(f"ring4 on GMRES refused under 0.9 x its plan free", rc == 4 and amount(err) is not None, err.strip()[:160])
else:
    check("ring6's refusal names what is free", False, err[-200:])

# 6. levels = auto where the rates over- or underflow: a message without nan
for setting in ("sigma=1e300", "nbar=1e300", "gamma_minus=1e-320"):
    rc, _, err = run(["steady", f"{EX}/fig2b.ini", "--set", "levels=auto", "--set", setting], timeout=60)
    check(f"levels = auto with {setting}: exit 2, no nan in the message",
          rc == 2 and not re.search(r"nan|inf", err, re.I), f"rc {rc}: {err.strip()[:200]}")
finish()
