#ifndef FIELDLINK_CSYSTEMD_H
#define FIELDLINK_CSYSTEMD_H
/* Only the non-variadic corners of libsystemd: sd_journal_send() and sd_notifyf() are variadic
 * and Swift cannot call them; the journal is written field by field through sd_journal_sendv(). */
#include <systemd/sd-journal.h>
#include <systemd/sd-daemon.h>
#include <sys/uio.h>
#include <errno.h>
#include <stdint.h>

/* One journal entry: `count` fields laid out back to back in `buffer`, field i ("NAME=value") being
 * `lengths[i]` bytes long. Values may hold newlines (the native protocol is binary-safe), so the
 * fields are not separated by anything. Returns 0 or a negative errno. */
static inline int csystemd_journal_send_fields(const char *buffer, const size_t *lengths, int count) {
    if (count <= 0) return -EINVAL;
    struct iovec iov[count];
    size_t offset = 0;
    for (int i = 0; i < count; i++) {
        iov[i].iov_base = (void *)(buffer + offset);
        iov[i].iov_len = lengths[i];
        offset += lengths[i];
    }
    return sd_journal_sendv(iov, count);
}

/* sd_notify(0, state): >0 sent, 0 when NOTIFY_SOCKET is unset, <0 a negative errno. */
static inline int csystemd_notify(const char *state) { return sd_notify(0, state); }

/* sd_watchdog_enabled(0, &usec): >0 with the interval in microseconds, 0 when off, <0 a negative errno. */
static inline int csystemd_watchdog_enabled(uint64_t *usec) { return sd_watchdog_enabled(0, usec); }
#endif
