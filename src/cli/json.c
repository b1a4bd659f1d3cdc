/* json.c — a small streaming JSON writer for --json output (depth ≤ 30), and the pieces
 * of it the commands share: the description header and the model. */
#include <math.h>
#include <time.h>
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

void json_complex(json *j, const char *key, double complex v)
{
    if (cimag(v) == 0) { json_num(j, key, creal(v)); return; }
    json_object(j, key);
    json_num(j, "re", creal(v));
    json_num(j, "im", cimag(v));
    json_end(j);
}

void json_header(json *j, const char *command, int argc, char **argv, const qs_model *m)
{
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_str(j, "program", "qsync " QSYNC_VERSION);
    json_array(j, "command_line");
    json_str(j, NULL, "qsync");
    json_str(j, NULL, command);
    for (int i = 0; i < argc; i++) json_str(j, NULL, argv[i]);
    json_end(j);
    json_str(j, "date", date);
    json_str(j, "model_file", qs_model_source(m) ? qs_model_source(m) : "");
}

void json_osc_parameters(json *j, const qs_osc *x, int count)
{
    static const char *const keys[JSON_OSC_PARAMETERS] = {"omega", "K", "gamma_plus", "gamma_minus", "sigma_plus",
                                                          "sigma_minus", "n_plus", "n_minus", "noise", "gamma_T"};
    const double val[JSON_OSC_PARAMETERS] = {x->omega, x->K, x->gamma_plus, x->gamma_minus, x->sigma_plus, x->sigma_minus,
                                             x->n_plus, x->n_minus, x->noise, x->gamma_T};
    for (int k = 0; k < count && k < JSON_OSC_PARAMETERS; k++) json_num(j, keys[k], val[k]);
}

void json_couplings(json *j, const qs_model *m, int split)
{
    json_array(j, "couplings");
    for (int c = 0; c < qs_model_coupling_count(m); c++) {
        int a, b;
        double complex v;
        qs_model_coupling(m, c, &a, &b, &v);
        json_object(j, NULL);
        json_str(j, "a", qs_model_name(m, a));
        json_str(j, "b", qs_model_name(m, b));
        if (split) {
            json_num(j, "re", creal(v));
            json_num(j, "im", cimag(v));
        } else json_complex(j, "value", v);
        json_end(j);
    }
    json_end(j);
}

void json_model(json *j, const qs_model *m)
{
    json_object(j, "model");
    json_array(j, "oscillators");
    for (int o = 0; o < qs_model_size(m); o++) {
        const qs_osc *x = qs_model_osc(m, o);
        json_object(j, NULL);
        json_str(j, "name", qs_model_name(m, o));
        json_osc_parameters(j, x, JSON_OSC_PARAMETERS);
        json_int(j, "levels", x->levels);
        json_end(j);
    }
    json_end(j);
    json_couplings(j, m, 0);
    json_end(j);
}
