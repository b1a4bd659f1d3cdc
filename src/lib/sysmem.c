/* sysmem.c — what the operating system says about memory and time (Linux /proc). */
#include <stdio.h>
#include <string.h>
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

double qs_memory_available(void) { return 1024.0 * meminfo_kb("/proc/meminfo", "MemAvailable:"); }
double qs_memory_peak(void) { return 1024.0 * meminfo_kb("/proc/self/status", "VmHWM:"); }

double qs_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
