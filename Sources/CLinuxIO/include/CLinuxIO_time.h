// The kernel's clocks for the time-sync stage: CLOCK_BOOTTIME (the monotonic time a reading keeps,
// comparable across restarts within one boot) and adjtimex(2)'s STA_UNSYNC, a macro Swift does not
// import. Owned by FieldlinkSystemd.
#pragma once
#include <stdint.h>

/// CLOCK_BOOTTIME in milliseconds: time since boot, suspend included; -1 with errno on failure.
int64_t CLinuxIO_boottime_milliseconds(void);
/// Read-only adjtimex(2): 1 when the kernel says the clock is synchronised (STA_UNSYNC clear, as
/// chrony and ntpd leave it), 0 when not, -1 with errno on failure.
int CLinuxIO_clock_synchronised(void);
