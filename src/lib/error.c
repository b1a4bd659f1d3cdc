/* error.c — status strings and the error detail filler (see qsync/error.h). */
#include <stdarg.h>
#include <stdio.h>
#include "internal.h"

const char *qs_status_string(int status)
{
    switch (status) {
    case QS_OK: return "ok";
    case QS_WARN_TRUNCATION: return "top Fock level populated above tolerance";
    case QS_EINPUT: return "bad input";
    case QS_ENOMEM: return "out of memory";
    case QS_ETOOBIG: return "refused: needs more memory than allowed";
    case QS_ENUMERIC: return "numerical failure";
    case QS_EIO: return "input/output error";
    default: return "unknown status";
    }
}

int qs_error_set(qs_error *err, int status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->status = status;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

int qs_error_prefix(qs_error *err, int status, const char *fmt, ...)
{
    if (err) {
        char message[sizeof err->message], prefix[sizeof err->message];
        snprintf(message, sizeof message, "%s", err->message);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof prefix, fmt, ap);
        va_end(ap);
        qs_error_set(err, status, "%s%s", prefix, message);
    }
    return status;
}
