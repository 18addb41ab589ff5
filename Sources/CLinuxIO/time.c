#include "CLinuxIO_time.h"
#include <sys/timex.h>
#include <time.h>

int64_t CLinuxIO_boottime_milliseconds(void) {
    struct timespec now;
    if (clock_gettime(CLOCK_BOOTTIME, &now) != 0) return -1;
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int CLinuxIO_clock_synchronised(void) {
    struct timex state = {0};  // modes 0: only reads, allowed without CAP_SYS_TIME
    if (adjtimex(&state) < 0) return -1;
    return (state.status & STA_UNSYNC) ? 0 : 1;
}
