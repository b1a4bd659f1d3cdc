/* qsync/error.h — the one status type of the library.
 *
 * Every library function that can fail returns an int status: 0 is success, a positive
 * value is a warning (the result is usable but deserves attention), a negative value is
 * an error (no result). Functions that take a qs_error* also fill it with a sentence
 * naming the culprit (file and line, parameter path, size); the pointer may be NULL.
 * The library never prints, exits or aborts.
 */
#ifndef QSYNC_ERROR_H
#define QSYNC_ERROR_H

enum {
    QS_OK = 0,
    QS_WARN_TRUNCATION = 1, /* a top Fock level holds more population than the tolerance */
    QS_EINPUT = -1,         /* bad model, bad parameter path or value */
    QS_ENOMEM = -2,         /* an allocation failed */
    QS_ETOOBIG = -3,        /* refused: the planned memory exceeds the limit */
    QS_ENUMERIC = -4,       /* the solver failed or its result does not pass the checks */
    QS_EIO = -5             /* a file could not be read or written */
};

/* Detail of the last failure: status and a human-readable sentence. */
typedef struct {
    int status;
    char message[512];
} qs_error;

/* A fixed sentence for each status code (never NULL). */
const char *qs_status_string(int status);

/* Fill err (if non-NULL) with status and a printf-style message; returns status. */
int qs_error_set(qs_error *err, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
