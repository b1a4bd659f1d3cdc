/* sysmem.c — what the operating system says about memory and time (Linux /proc, getrlimit).
 *
 * The memory a plan may use is the least of what the system has (MemAvailable) and what this
 * process may still map under its limits (RLIMIT_AS less the address space in use, RLIMIT_DATA
 * less the data in use): under `ulimit -v` an allocation fails long before RAM runs out.
 * Of what the limits leave, LIMIT_RESERVE stays for what the libraries map by themselves
 * later: OpenBLAS's work buffer (129 MiB, mapped at its first level-2/3 call, and retried
 * forever, a hang, when it cannot be mapped), thread stacks and malloc's per-thread arenas.
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "internal.h"

static double meminfo_kb(const char *path, const char *key)
{
    FILE *fp = fopen(path, "r");
    if (!fp) return 0;
    char line[256];
    double kb = 0;
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, fp))
        if (strncmp(line, key, klen) == 0) {
            sscanf(line + klen, "%lf", &kb);
            break;
        }
    fclose(fp);
    return kb;
}

#define LIMIT_RESERVE (192.0 * 1048576.0)

/* Bytes left under resource limit `which` when `used_key` of /proc/self/status is in use,
 * less LIMIT_RESERVE; 0 if the limit is unlimited or unknown, 1 if it is exhausted. */
static double rlimit_left(int which, const char *used_key)
{
    struct rlimit rl;
    if (getrlimit(which, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 0;
    double left = (double)rl.rlim_cur - 1024.0 * meminfo_kb("/proc/self/status", used_key) - LIMIT_RESERVE;
    return left > 1.0 ? left : 1.0;
}

double qs_memory_mappable(const char **which)
{
    double as = rlimit_left(RLIMIT_AS, "VmSize:"), data = rlimit_left(RLIMIT_DATA, "VmData:"), left = 0;
    const char *why = NULL;
    if (as > 0) { left = as; why = "left by the address-space limit (ulimit -v) beside 192 MiB kept for the libraries' own buffers"; }
    if (data > 0 && (!(left > 0) || data < left)) { left = data; why = "left by the data-size limit (ulimit -d) beside 192 MiB kept for the libraries' own buffers"; }
    if (which) *which = why;
    return left;
}

double qs_memory_available_why(const char **which)
{
    double avail = 1024.0 * meminfo_kb("/proc/meminfo", "MemAvailable:"), left = qs_memory_mappable(which);
    if (left > 0 && (!(avail > 0) || left < avail)) return left;
    if (which) *which = "available";
    return avail;
}

double qs_memory_available(void) { return qs_memory_available_why(NULL); }

double qs_memory_peak(void) { return 1024.0 * meminfo_kb("/proc/self/status", "VmHWM:"); }

double qs_memory_resident(void) { return 1024.0 * meminfo_kb("/proc/self/status", "VmRSS:"); }

double qs_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *qs_memory_left_phrase(char buf[48], double bytes)
{
    double mib = bytes / 1048576.0;
    if (mib >= 100) snprintf(buf, 48, "only %.0f MiB are", mib);
    else if (mib >= 0.01) snprintf(buf, 48, "only %.2f MiB are", mib);
    else snprintf(buf, 48, "nothing is");
    return buf;
}
