/* json.c — a small streaming JSON writer for --json output (depth ≤ 30). */
#include <math.h>
#include "cli.h"

/* The length of the valid UTF-8 sequence at p, or 0 when p starts no valid sequence. */
static int utf8_length(const unsigned char *p)
{
    int len = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 && *p >= 0xc2 ? 2 : (*p & 0xf0) == 0xe0 ? 3
            : (*p & 0xf8) == 0xf0 && *p <= 0xf4 ? 4 : 0;
    for (int k = 1; k < len; k++) if ((p[k] & 0xc0) != 0x80) return 0;
    if (len == 3 && ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0))) return 0;
    if (len == 4 && ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))) return 0;
    return len;
}

/* A JSON string: quotes, backslashes and control characters escaped, and every byte that
 * is not part of valid UTF-8 (a file name in another encoding) written as U+FFFD, so the
 * output is always valid JSON. */
static void write_string(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int len = utf8_length(p);
        if (len == 0) { fputs("\\ufffd", fp); p++; continue; }
        if (*p == '"' || *p == '\\') fprintf(fp, "\\%c", *p);
        else if (*p < 0x20) fprintf(fp, "\\u%04x", *p);
        else fwrite(p, 1, (size_t)len, fp);
        p += len;
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
