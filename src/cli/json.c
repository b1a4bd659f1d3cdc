/* json.c — a small streaming JSON writer for --json output (depth ≤ 30). */
#include <math.h>
#include "cli.h"

static void write_string(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(fp, "\\%c", *p);
        else if (*p < 0x20) fprintf(fp, "\\u%04x", *p);
        else fputc(*p, fp);
    }
    fputc('"', fp);
}

/* separator and indentation before a member or element, then "key": */
static void sep(json *j, const char *key)
{
    if (j->depth > 0) {
        if (!j->first[j->depth]) fputc(',', j->fp);
        j->first[j->depth] = 0;
        fputc('\n', j->fp);
        for (int i = 0; i < j->depth; i++) fputs("  ", j->fp);
    }
    if (key) {
        write_string(j->fp, key);
        fputs(": ", j->fp);
    }
}

static void open_(json *j, const char *key, char open, char close)
{
    sep(j, key);
    fputc(open, j->fp);
    j->closing[j->depth] = close;
    j->depth++;
    j->first[j->depth] = 1;
}

void json_begin(json *j, FILE *fp)
{
    j->fp = fp;
    j->depth = 0;
}
void json_object(json *j, const char *key) { open_(j, key, '{', '}'); }
void json_array(json *j, const char *key) { open_(j, key, '[', ']'); }

void json_end(json *j)
{
    int empty = j->first[j->depth];
    j->depth--;
    if (!empty) {
        fputc('\n', j->fp);
        for (int i = 0; i < j->depth; i++) fputs("  ", j->fp);
    }
    fputc(j->closing[j->depth], j->fp);
    if (j->depth == 0) fputc('\n', j->fp);
}

void json_num(json *j, const char *key, double v)
{
    sep(j, key);
    if (isfinite(v)) fprintf(j->fp, "%.17g", v);
    else fputs("null", j->fp);
}

void json_int(json *j, const char *key, long long v)
{
    sep(j, key);
    fprintf(j->fp, "%lld", v);
}

void json_bool(json *j, const char *key, int v)
{
    sep(j, key);
    fputs(v ? "true" : "false", j->fp);
}

void json_str(json *j, const char *key, const char *s)
{
    sep(j, key);
    write_string(j->fp, s);
}
